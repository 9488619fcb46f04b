//! Integration tests: the gateway and a real emulator in-process, over HTTP.

mod helpers;

mod audit;
mod auth;
mod compression;
mod crash;
mod directory;
mod forwarding;
mod fuzz;
mod hardening;
mod language;
mod leaks;
mod openapi;
mod operations;
mod replicas;
mod resilience;
mod roles;
mod security;
mod self_service;
mod static_files;
mod support_desk;
mod sync;
mod team;
