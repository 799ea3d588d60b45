//! Region names: Win32 spellings in, POSIX `shm_open("/Name")` out.

use crate::error::{Error, Result};
use std::ffi::CString;
use std::fmt;
use std::path::PathBuf;

/// The longest name, in bytes, without its leading `/` (`NAME_MAX`).
pub const MAX_NAME_LEN: usize = 255;

/// A validated shared-memory name. `Name` is the object `shm_open("/Name")` opens, so a C
/// program on the same machine that calls `shm_open("/MyFileMappingObject", ...)` shares
/// the region fixrec calls `MyFileMappingObject`.
///
/// Accepted spellings: `Name`, `/Name` (the POSIX one), and the Win32 `Global\Name` and
/// `Local\Name`, whose prefix is stripped: Linux has one namespace of shared-memory
/// objects per IPC namespace (in practice, per machine or container), with no session
/// split, so both prefixes name the same object.
///
/// Refused: an empty name, `.` and `..`, a `/` anywhere but the start, a NUL byte or
/// another control character (a newline would garble listings and messages), and names
/// over 255 bytes.
///
/// # Examples
///
/// ```
/// use fixrec::shm::Name;
///
/// let name = Name::new(r"Global\MyFileMappingObject")?;
/// assert_eq!(name.as_str(), "MyFileMappingObject");
/// assert_eq!(name.to_string(), "shm:MyFileMappingObject");
/// assert!(Name::new("../etc/passwd").is_err());
/// assert!(Name::new("").is_err());
/// # Ok::<(), fixrec::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Name(String);

impl Name {
    /// Validates `name` (see the type's documentation for the rules).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] saying which rule the name breaks.
    pub fn new(name: &str) -> Result<Name> {
        let bad = |reason: &str| Error::InvalidName {
            name: name.into(),
            reason: reason.into(),
        };
        let bare = name
            .strip_prefix("Global\\")
            .or_else(|| name.strip_prefix("Local\\"))
            .or_else(|| name.strip_prefix('/'))
            .unwrap_or(name);
        if bare.is_empty() {
            return Err(bad("the name is empty"));
        }
        if bare.contains('\0') {
            return Err(bad("the name contains a NUL byte"));
        }
        if let Some(c) = bare.chars().find(|c| c.is_control()) {
            // A newline or escape would garble `fixrec shm ls` and every message.
            return Err(bad(&format!(
                "the name contains the control character {:?}",
                c
            )));
        }
        if bare.contains('/') {
            return Err(bad(
                "a name may not contain '/' (other than one at the start)",
            ));
        }
        if bare == "." || bare == ".." {
            return Err(bad("'.' and '..' are not object names"));
        }
        if bare.len() > MAX_NAME_LEN {
            return Err(bad(&format!(
                "the name has {} bytes; at most {MAX_NAME_LEN} are allowed",
                bare.len()
            )));
        }
        Ok(Name(bare.to_owned()))
    }

    /// The name without prefix or slash, as `fixrec shm ls` lists it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `/Name`, as `shm_open` takes it.
    pub(crate) fn c_path(&self) -> CString {
        CString::new(format!("/{}", self.0)).expect("validated: no NUL")
    }

    /// `shm:Name`, the path fixrec puts in messages (and the command line's target syntax).
    pub(crate) fn display_path(&self) -> PathBuf {
        PathBuf::from(self.to_string())
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shm:{}", self.0)
    }
}

impl std::str::FromStr for Name {
    type Err = Error;
    fn from_str(s: &str) -> Result<Name> {
        Name::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_stripped() {
        for given in ["Obj", "/Obj", "Global\\Obj", "Local\\Obj"] {
            assert_eq!(Name::new(given).unwrap().as_str(), "Obj", "{given}");
        }
        assert_eq!(Name::new("Obj").unwrap().c_path().to_bytes(), b"/Obj");
        // A backslash elsewhere is an ordinary byte on Linux.
        assert_eq!(Name::new("a\\b").unwrap().as_str(), "a\\b");
    }

    #[test]
    fn bad_names_are_errors_not_panics() {
        let long = "x".repeat(256);
        for bad in [
            "",
            "/",
            "Global\\",
            "Local\\",
            ".",
            "..",
            "/..",
            "a/b",
            "//a",
            "a\0b",
            "a\nb",
            "\u{1b}[31mred",
            long.as_str(),
            "Global\\a/b",
        ] {
            assert!(
                matches!(Name::new(bad), Err(Error::InvalidName { .. })),
                "{bad:?} accepted"
            );
        }
        assert!(Name::new(&"x".repeat(255)).is_ok());
        assert!(Name::new("..a").is_ok());
    }
}
