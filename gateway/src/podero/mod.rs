//! Talking to Podero: the one home for it.
//!
//! [`route`] is the allow-list of Partner API routes ([`ApiRoute`]) and its
//! parser ([`parse_path`]); [`client`] is the organisation-bound
//! [`Podero`] client every caller uses (proxy, team, role checks, the read
//! model, the reconnection scan); [`token`] is the single-flight OAuth2
//! client-credentials token it sends; [`json_array`] cuts the users list
//! into its elements while it arrives.

pub mod client;
pub mod json_array;
pub mod route;
pub mod token;

pub use client::{forwarded_headers, http_client, Forwarded, Podero};
pub use route::{include_deleted, is_partner_api, parse_path, ApiRoute};
pub use token::TokenManager;
