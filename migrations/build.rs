//! Rebuilds the crate when a migration is added, so the embedded history is never stale.

fn main() {
    println!("cargo:rerun-if-changed=sqlite");
    println!("cargo:rerun-if-changed=postgres");
}
