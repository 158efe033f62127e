//! The `ftcheck` program: the command line of [`ftcheck::cli::main`] on the built-in protocols
//! (a user's crate has the same `main` with its own catalog), with mimalloc as its allocator.

use ftcheck::catalog::Catalog;
use std::process::ExitCode;

/// The search's worker threads free states that other workers allocated; glibc's malloc
/// serialises such frees on its arena locks, which made two threads slower than one on models
/// whose states own heap memory (issue 17). mimalloc frees them without a lock.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc 3's `mi_option_purge_delay` (its `mimalloc.h`; the crate names no constant).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Hands freed memory back to the system at once, unless `MIMALLOC_PURGE_DELAY` says
/// otherwise: a level's states are freed as the next level grows, and mimalloc's default delay
/// of a second stacked the two (`transaction-commit -p rms=9`: 389 MiB peak instead of 306).
fn purge_freed_memory_at_once() {
    // SAFETY: `mi_version` only returns a constant (mimalloc 3.x.y is 3xxyy).
    let version = unsafe { libmimalloc_sys::mi_version() };
    if (30000..40000).contains(&version) && std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: called first in `main`, before any other thread exists.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
}

fn main() -> ExitCode {
    purge_freed_memory_at_once();
    ftcheck::cli::main(Catalog::builtin())
}
