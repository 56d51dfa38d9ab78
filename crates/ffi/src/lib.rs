//! The C ABI of accountscope.
//!
//! This crate builds the `libaccountscope` static and shared libraries that C and C++ applications link.
//! Its functions (opaque handles, status codes, Arrow C Data / C Stream interface in and out, a generated
//! `accountscope.h`) are added by the C binding's issue; until then it exports only the version.

/// The library version as a NUL-terminated string, valid for the life of the program.
#[unsafe(no_mangle)]
pub extern "C" fn accountscope_version() -> *const std::ffi::c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}
