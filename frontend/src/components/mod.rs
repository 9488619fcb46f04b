//! Components shared by the pages: the users table, a device card, status
//! badges, the loading / error / empty feedback blocks, toasts and the
//! confirmation dialog.

pub mod confirm;
pub mod device_card;
pub mod feedback;
pub mod form;
pub mod status;
pub mod toast;
pub mod users_table;
