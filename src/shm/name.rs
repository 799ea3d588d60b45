//! Region names: Win32 spellings in, POSIX `shm_open("/Name")` out.

use crate::error::{Error, Result};
use std::fmt;
use std::path::PathBuf;

/// The longest name, in bytes, without its leading `/` (`NAME_MAX`).
pub const MAX_NAME_LEN: usize = 255;

/// A validated shared-memory name, meaning on each system what it means to a C program
/// there.
///
/// - On Unix, `Name` is the object `shm_open("/Name")` opens, so a C program on the same
///   machine that calls `shm_open("/MyFileMappingObject", ...)` shares the region fixrec
///   calls `MyFileMappingObject`. The spellings `/Name` (the POSIX one) and the Win32
///   `Global\Name` and `Local\Name` are accepted and their prefix stripped: Unix has one
///   namespace of shared-memory objects per IPC namespace (in practice, per machine or
///   container), with no session split, so all of them name the same object.
/// - On Windows, the name is kept exactly as written (a leading `/` aside) and is the
///   name of a file-mapping object, as `CreateFileMappingA(INVALID_HANDLE_VALUE, ...,
///   name)` and `OpenFileMappingA(..., name)` use it: `Global\Name` is in the global
///   namespace, `Local\Name` and a bare `Name` are in the session's.
///
/// Refused everywhere: an empty name, `.` and `..`, a `/` anywhere but the start, a NUL
/// byte or another control character (a newline would garble listings and messages), and
/// names over 255 bytes (after the prefix).
///
/// # Examples
///
/// ```
/// use fixrec::shm::Name;
///
/// let name = Name::new(r"Global\MyFileMappingObject")?;
/// if cfg!(windows) {
///     assert_eq!(name.as_str(), r"Global\MyFileMappingObject");
/// } else {
///     assert_eq!(name.as_str(), "MyFileMappingObject");
///     assert_eq!(name.to_string(), "shm:MyFileMappingObject");
/// }
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
        let kept = crate::platform::object_name(name);
        // The part after a Win32 namespace prefix, which Windows keeps in the name.
        let bare = kept
            .strip_prefix("Global\\")
            .or_else(|| kept.strip_prefix("Local\\"))
            .unwrap_or(kept);
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
        Ok(Name(kept.to_owned()))
    }

    /// The object's name: without prefix or slash on Unix (as `fixrec shm ls` lists it),
    /// as written on Windows.
    pub fn as_str(&self) -> &str {
        &self.0
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
    fn prefixes_mean_what_they_mean_on_each_system() {
        for given in ["Obj", "/Obj", "Global\\Obj", "Local\\Obj"] {
            let want = if cfg!(windows) {
                given.trim_start_matches('/')
            } else {
                "Obj"
            };
            assert_eq!(Name::new(given).unwrap().as_str(), want, "{given}");
        }
        // A backslash elsewhere is an ordinary byte.
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
