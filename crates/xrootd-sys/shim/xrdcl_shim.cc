// A C interface over the parts of XrdCl the listers use: one FileSystem per
// connection, DirList with stat information (synchronous, and asynchronous
// with a completion callback), Stat and Locate, each with a timeout and the
// full status (client code, server error number, message).
//
// Every function catches C++ exceptions: none may cross into Rust.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include <XrdCl/XrdClDefaultEnv.hh>
#include <XrdCl/XrdClEnv.hh>
#include <XrdCl/XrdClFileSystem.hh>
#include <XrdCl/XrdClURL.hh>
#include <XrdCl/XrdClXRootDResponses.hh>

extern "C" {

struct dcx_status {
  uint16_t status;  // 0 ok, 1 error, 3 fatal (XrdCl's stOK, stError, stFatal)
  uint16_t code;    // XrdCl's error code (errErrorResponse = 400: the server said no)
  uint32_t err_no;  // the server's kXR_ error number, or an errno
  char *message;    // malloc'd, or null; freed with dcx_string_free
};

struct dcx_entry {
  const char *name;
  size_t name_len;
  uint64_t size;
  uint64_t mtime;
  uint32_t flags;  // StatInfo flags (IsDir = 2, Other = 4, ...)
  int has_stat;
};

struct dcx_fs;
struct dcx_listing;

void dcx_init(void);
dcx_fs *dcx_fs_new(const char *url, dcx_status *st);
void dcx_fs_free(dcx_fs *fs);
int dcx_dirlist(dcx_fs *fs, const char *path, size_t path_len, uint16_t timeout, int with_stat, dcx_listing **out,
                dcx_status *st);
size_t dcx_dirlist_len(const dcx_listing *list);
void dcx_dirlist_entry(const dcx_listing *list, size_t i, dcx_entry *out);
void dcx_dirlist_free(dcx_listing *list);
int dcx_stat(dcx_fs *fs, const char *path, size_t path_len, uint16_t timeout, dcx_entry *out, dcx_status *st);
int dcx_locate(dcx_fs *fs, const char *path, size_t path_len, uint16_t timeout, char **out, dcx_status *st);
void dcx_string_free(char *s);

// Called once per asynchronous DirList, on one of XrdCl's threads: `list` is
// the listing (null on failure; the callee frees it with dcx_dirlist_free)
// and `st` its status (the callee frees st->message with dcx_string_free).
typedef void (*dcx_dirlist_done)(void *ctx, dcx_listing *list, dcx_status *st);
int dcx_dirlist_async(dcx_fs *fs, const char *path, size_t path_len, uint16_t timeout, int with_stat,
                      dcx_dirlist_done done, void *ctx, dcx_status *st);
}

struct dcx_fs {
  XrdCl::FileSystem fs;
  explicit dcx_fs(const XrdCl::URL &url) : fs(url) {}
};

struct dcx_listing {
  XrdCl::DirectoryList *list;
};

static char *dup_string(const std::string &s) {
  char *p = static_cast<char *>(std::malloc(s.size() + 1));
  if (p) {
    std::memcpy(p, s.data(), s.size());
    p[s.size()] = 0;
  }
  return p;
}

static int fill_status(const XrdCl::XRootDStatus &s, dcx_status *st) {
  st->status = s.status;
  st->code = s.code;
  st->err_no = s.errNo;
  st->message = s.IsOK() ? nullptr : dup_string(s.ToStr());
  return s.IsOK() ? 0 : -1;
}

static int fail(dcx_status *st, const char *what) {
  st->status = 3;
  st->code = 1;  // errUnknown
  st->err_no = 0;
  st->message = dup_string(what);
  return -1;
}

// Once per process, through a function-local static (thread-safe since C++11) rather than
// std::call_once, whose pthread_once is versioned GLIBC_2.34 on newer glibc: the shim then runs
// on glibc 2.17.
void dcx_init(void) {
  static const bool once = [] {
    XrdCl::Env *env = XrdCl::DefaultEnv::GetEnv();
    // Values set in the shell (XRD_*) win: PutInt leaves them alone.
    // Check request deadlines every second, not every 15: the per-directory timeout must hold.
    env->PutInt("TimeoutResolution", 1);
    // A channel that failed must not refuse requests for half an hour: a restarted server is used at once.
    env->PutInt("StreamErrorWindow", 1);
    env->PutInt("ConnectionRetry", 2);
    env->PutInt("ConnectionWindow", 10);
    // The host process (Node) forks children; XrdCl's fork handler would stop and restart every connection.
    env->PutInt("RunForkHandler", 0);
    return true;
  }();
  (void)once;
}

dcx_fs *dcx_fs_new(const char *url, dcx_status *st) {
  try {
    dcx_init();
    XrdCl::URL u(url);
    if (!u.IsValid()) {
      fail(st, (std::string("not a valid XRootD URL: ") + url).c_str());
      return nullptr;
    }
    st->status = 0;
    st->code = 0;
    st->err_no = 0;
    st->message = nullptr;
    return new dcx_fs(u);
  } catch (const std::exception &e) {
    fail(st, e.what());
  } catch (...) {
    fail(st, "unknown C++ exception");
  }
  return nullptr;
}

void dcx_fs_free(dcx_fs *fs) {
  try {
    delete fs;
  } catch (...) {
  }
}

int dcx_dirlist(dcx_fs *fs, const char *path, size_t path_len, uint16_t timeout, int with_stat, dcx_listing **out,
                dcx_status *st) {
  *out = nullptr;
  try {
    XrdCl::DirectoryList *list = nullptr;
    XrdCl::DirListFlags::Flags flags = with_stat ? XrdCl::DirListFlags::Stat : XrdCl::DirListFlags::None;
    XrdCl::XRootDStatus s = fs->fs.DirList(std::string(path, path_len), flags, list, timeout);
    if (!s.IsOK()) {
      delete list;
      return fill_status(s, st);
    }
    if (!list) return fail(st, "the server sent no directory listing");
    *out = new dcx_listing{list};
    return fill_status(s, st);
  } catch (const std::exception &e) {
    return fail(st, e.what());
  } catch (...) {
    return fail(st, "unknown C++ exception");
  }
}

namespace {

// Hands an asynchronous DirList's answer to the caller's callback, then deletes itself.
class DirListHandler : public XrdCl::ResponseHandler {
 public:
  DirListHandler(dcx_dirlist_done done, void *ctx) : done_(done), ctx_(ctx) {}

  void HandleResponse(XrdCl::XRootDStatus *status, XrdCl::AnyObject *response) override {
    dcx_status st{};
    dcx_listing *out = nullptr;
    try {
      if (status && status->IsOK()) {
        XrdCl::DirectoryList *list = nullptr;
        if (response) {
          response->Get(list);
          // the listing is ours now: the AnyObject must not delete it
          response->Set(static_cast<char *>(nullptr));
        }
        if (list) {
          out = new dcx_listing{list};
          fill_status(*status, &st);
        } else {
          fail(&st, "the server sent no directory listing");
        }
      } else if (status) {
        fill_status(*status, &st);
      } else {
        fail(&st, "no status for the request");
      }
    } catch (const std::exception &e) {
      fail(&st, e.what());
    } catch (...) {
      fail(&st, "unknown C++ exception");
    }
    delete status;
    delete response;
    done_(ctx_, out, &st);
    delete this;
  }

 private:
  dcx_dirlist_done done_;
  void *ctx_;
};

}  // namespace

int dcx_dirlist_async(dcx_fs *fs, const char *path, size_t path_len, uint16_t timeout, int with_stat,
                      dcx_dirlist_done done, void *ctx, dcx_status *st) {
  DirListHandler *handler = nullptr;
  try {
    handler = new DirListHandler(done, ctx);
    XrdCl::DirListFlags::Flags flags = with_stat ? XrdCl::DirListFlags::Stat : XrdCl::DirListFlags::None;
    XrdCl::XRootDStatus s = fs->fs.DirList(std::string(path, path_len), flags, handler, timeout);
    if (!s.IsOK()) {
      // not sent: the handler will never be called
      delete handler;
      return fill_status(s, st);
    }
    return fill_status(s, st);
  } catch (const std::exception &e) {
    delete handler;
    return fail(st, e.what());
  } catch (...) {
    delete handler;
    return fail(st, "unknown C++ exception");
  }
}

size_t dcx_dirlist_len(const dcx_listing *list) { return list->list->GetSize(); }

static void fill_entry(const XrdCl::StatInfo *info, dcx_entry *out) {
  out->has_stat = info != nullptr;
  out->size = info ? info->GetSize() : 0;
  out->mtime = info ? info->GetModTime() : 0;
  out->flags = info ? info->GetFlags() : 0;
}

void dcx_dirlist_entry(const dcx_listing *list, size_t i, dcx_entry *out) {
  const XrdCl::DirectoryList::ListEntry *e = list->list->At(i);
  out->name = e->GetName().data();
  out->name_len = e->GetName().size();
  fill_entry(e->GetStatInfo(), out);
}

void dcx_dirlist_free(dcx_listing *list) {
  if (list) {
    delete list->list;
    delete list;
  }
}

int dcx_stat(dcx_fs *fs, const char *path, size_t path_len, uint16_t timeout, dcx_entry *out, dcx_status *st) {
  try {
    XrdCl::StatInfo *info = nullptr;
    XrdCl::XRootDStatus s = fs->fs.Stat(std::string(path, path_len), info, timeout);
    out->name = nullptr;
    out->name_len = 0;
    fill_entry(s.IsOK() ? info : nullptr, out);
    delete info;
    return fill_status(s, st);
  } catch (const std::exception &e) {
    return fail(st, e.what());
  } catch (...) {
    return fail(st, "unknown C++ exception");
  }
}

int dcx_locate(dcx_fs *fs, const char *path, size_t path_len, uint16_t timeout, char **out, dcx_status *st) {
  *out = nullptr;
  try {
    XrdCl::LocationInfo *info = nullptr;
    XrdCl::XRootDStatus s = fs->fs.Locate(std::string(path, path_len), XrdCl::OpenFlags::None, info, timeout);
    if (s.IsOK() && info) {
      // one location a line: "S address" with S = M (manager) or S (server)
      std::string lines;
      for (auto it = info->Begin(); it != info->End(); ++it) {
        bool manager = it->GetType() == XrdCl::LocationInfo::ManagerOnline ||
                       it->GetType() == XrdCl::LocationInfo::ManagerPending;
        lines += manager ? "M " : "S ";
        lines += it->GetAddress();
        lines += '\n';
      }
      *out = dup_string(lines);
    }
    delete info;
    return fill_status(s, st);
  } catch (const std::exception &e) {
    return fail(st, e.what());
  } catch (...) {
    return fail(st, "unknown C++ exception");
  }
}

void dcx_string_free(char *s) { std::free(s); }
