//! Integration tests: the gateway and a real emulator in-process, over HTTP.

mod helpers;

mod directory;

mod forwarding;
mod resilience;
mod security;
mod static_files;
