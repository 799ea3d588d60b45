//! The `fixrec` command line: create, import, inspect, edit and export record files.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
