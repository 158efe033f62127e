//! `own-protocol`: ftcheck's whole command line (`list`, `check`, `replay`, `export`, `suite`,
//! `table`, `bench`, `explore`, `merge`) on the protocols of this crate and the built-in ones.

fn main() -> std::process::ExitCode {
    ftcheck::cli::main(own_protocol::catalog())
}
