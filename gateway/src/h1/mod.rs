//! The native HTTP/1.1 proxy path for plain-HTTP client connections (see `conn`): the common
//! case served without hyper's per-request machinery, everything else handed to hyper.

pub mod codec;
pub mod conn;
pub mod rewind;
pub mod upstream;
