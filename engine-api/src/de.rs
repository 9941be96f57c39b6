//! Deserializers for the shapes Go's encoder produces: `null` for empty slices and maps,
//! and `strslice` fields (Cmd, Entrypoint, Shell) given either as a string or a list.

use serde::{Deserialize, Deserializer};

/// `null` (a nil slice or map in Go) reads as the type's default.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A Docker `strslice`: `null`, `"sh"` or `["sh", "-c", "x"]`.
pub(crate) fn strslice<'de, D>(d: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Either>::deserialize(d)? {
        None => None,
        Some(Either::One(s)) => Some(vec![s]),
        Some(Either::Many(v)) => Some(v),
    })
}
