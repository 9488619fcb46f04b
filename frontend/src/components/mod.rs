//! Components shared by the pages.

pub mod device_card;
pub mod feedback;
pub mod users_table;
