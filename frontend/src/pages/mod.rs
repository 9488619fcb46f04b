//! One module per page of the app.

pub mod not_found;
pub mod user_detail;
pub mod users;
