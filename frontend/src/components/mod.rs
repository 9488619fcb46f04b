//! Components shared by the pages: the users table, a device card, status
//! badges, and the loading / error / empty feedback blocks.

pub mod device_card;
pub mod feedback;
pub mod status;
pub mod users_table;
