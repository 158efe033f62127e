//! The allocator `ftcheck` runs with (see `src/main.rs`), so the benches time what it runs.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
