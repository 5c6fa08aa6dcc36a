//! Locks that outlive a panic. A lock is poisoned when a thread panicked
//! while holding it; what it guards (a tree, a queue of directories, a
//! connection slot) is still whole at every point where the project's code
//! could panic, so the next holder takes it over rather than panic in turn.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// Lock `m`, taking it over if poisoned.
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Read-lock `l`, taking it over if poisoned.
pub fn read<T: ?Sized>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

/// Write-lock `l`, taking it over if poisoned.
pub fn write<T: ?Sized>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

/// Wait on `c` for at most `timeout` (woken or not), taking the lock back
/// over if poisoned meanwhile.
pub fn wait_timeout<'a, T>(c: &Condvar, guard: MutexGuard<'a, T>, timeout: Duration) -> MutexGuard<'a, T> {
    c.wait_timeout(guard, timeout).unwrap_or_else(PoisonError::into_inner).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Run `hold` on a thread of its own, which panics while holding a lock.
    fn poison(hold: impl FnOnce() + Send + 'static) {
        assert!(std::thread::spawn(hold).join().is_err());
    }

    #[test]
    fn a_poisoned_lock_is_taken_over_with_its_value() {
        let m = Arc::new(Mutex::new(1));
        let m2 = m.clone();
        poison(move || {
            let mut g = m2.lock().unwrap();
            *g = 2;
            panic!("while holding the lock");
        });
        assert!(m.is_poisoned());
        assert_eq!(*lock(&m), 2);
        let c = Condvar::new();
        assert_eq!(*wait_timeout(&c, lock(&m), Duration::from_millis(1)), 2);

        let l = Arc::new(RwLock::new(vec![1]));
        let l2 = l.clone();
        poison(move || {
            let mut g = l2.write().unwrap();
            g.push(2);
            panic!("while holding the lock");
        });
        assert!(l.is_poisoned());
        assert_eq!(*read(&l), [1, 2]);
        write(&l).push(3);
        assert_eq!(*read(&l), [1, 2, 3]);
    }
}
