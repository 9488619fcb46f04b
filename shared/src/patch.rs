//! Serde helper for "absent, null or value" fields of partial updates.
//!
//! A partial `PUT` must distinguish "leave this field alone" (absent) from
//! "clear this field" (`null`). Such fields are `Option<Option<T>>`: `None`
//! is not serialised, `Some(None)` is `null`, `Some(Some(v))` is `v`. Use with
//! `#[serde(default, skip_serializing_if = "Option::is_none", with = "crate::patch")]`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub fn serialize<T: Serialize, S: Serializer>(
    value: &Option<Option<T>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        // `skip_serializing_if` keeps absent fields out; if called anyway, write null.
        None | Some(None) => serializer.serialize_none(),
        Some(Some(v)) => v.serialize(serializer),
    }
}

pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    // Only called when the field is present: present-and-null is `Some(None)`.
    Option::<T>::deserialize(deserializer).map(Some)
}
