//! One module per page of the app.

pub mod audit;
pub mod case_detail;
pub mod cases;
pub mod not_found;
pub mod outbox;
pub mod password;
pub mod reconnection;
pub mod sign_in;
pub mod sync;
pub mod team;
pub mod user_detail;
pub mod user_form;
pub mod users;
pub mod webhooks;
