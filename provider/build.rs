// The C shim exists only because stable Rust cannot create a `va_list`, which the core's
// error upcall (`core_vset_error`) takes. See src/c/err_shim.c.
fn main() {
    println!("cargo:rerun-if-changed=src/c/err_shim.c");
    cc::Build::new()
        .file("src/c/err_shim.c")
        .warnings(true)
        .compile("jpki_err_shim");
}
