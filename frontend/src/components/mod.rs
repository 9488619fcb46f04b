//! Components shared by the pages: the users table, a device card, status
//! badges, the loading / error / empty feedback blocks (and the panels for
//! what a role may not use), toasts, the confirmation dialog, and the
//! rendering of audit-trail changes, the search box of the lists; the support cases' badges, table
//! and top-bar count, a user's cases section, and the customer
//! self-service links (create, send, list, revoke).

pub mod audit;
pub mod cases;
pub mod confirm;
pub mod device_card;
pub mod feedback;
pub mod form;
pub mod search_box;
pub mod self_service;
pub mod status;
pub mod toast;
pub mod user_cases;
pub mod users_table;
