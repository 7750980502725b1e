//! `mono`, the operator CLI of the MONO hosting platform (thin entry point; logic in the library).

fn main() -> std::process::ExitCode {
    control_plane::cli::main()
}
