//! The `switchboard` binary: everything lives in the library.

/// mimalloc instead of the system allocator: run-log records are built on the request threads and
/// freed on the writer thread, and glibc's arenas serialise such cross-thread frees on a lock.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    switchboard::cli::main()
}
