//! mycli: thin entry point; everything lives in the library.

fn main() {
    let code = mycli::main_with_args(std::env::args().collect());
    std::process::exit(code);
}
