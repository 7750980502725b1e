//! The `tenant-node` binary: everything happens in the library (`tenant_node::main`).

fn main() -> std::process::ExitCode {
    tenant_node::main()
}
