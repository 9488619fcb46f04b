//! One module per page of the app.

pub mod not_found;
pub mod reconnection;
pub mod team;
pub mod user_detail;
pub mod user_form;
pub mod users;
