//! The `fixrec` command line.

fn main() {
    std::process::exit(fixrec_cli_main());
}

fn fixrec_cli_main() -> i32 {
    eprintln!("fixrec: the command line is not built yet");
    1
}
