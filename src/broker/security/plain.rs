//! SASL/PLAIN (RFC 4616): one client message `[authzid] NUL authcid NUL passwd`, an empty
//! reply. The broker keeps no plain passwords, so the password is checked against the user's
//! stored SCRAM credential by deriving it (see `ScramCredential::verify_password`).

/// A parsed PLAIN message. The password is only ever compared, never stored or printed.
pub struct PlainMessage {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for PlainMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainMessage")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Why a PLAIN message was refused; the text never contains the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlainError {
    #[error("malformed PLAIN message: {0}")]
    Malformed(&'static str),
    #[error("authorization id differs from the user name")]
    AuthzId,
}

/// Longest PLAIN message accepted (RFC 4616 allows 255 bytes per field).
const MAX_MESSAGE: usize = 3 * 1024;

pub fn parse(msg: &[u8]) -> Result<PlainMessage, PlainError> {
    if msg.len() > MAX_MESSAGE {
        return Err(PlainError::Malformed("message too long"));
    }
    let text = std::str::from_utf8(msg).map_err(|_| PlainError::Malformed("not UTF-8"))?;
    let mut parts = text.split('\0');
    let (Some(authzid), Some(user), Some(password), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(PlainError::Malformed("expected authzid NUL user NUL password"));
    };
    if user.is_empty() {
        return Err(PlainError::Malformed("empty user name"));
    }
    if password.is_empty() {
        return Err(PlainError::Malformed("empty password"));
    }
    if !authzid.is_empty() && authzid != user {
        return Err(PlainError::AuthzId);
    }
    Ok(PlainMessage {
        user: user.to_string(),
        password: password.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_and_without_authzid() {
        let m = parse(b"\0alice\0pw").unwrap();
        assert_eq!((m.user.as_str(), m.password.as_str()), ("alice", "pw"));
        let m = parse(b"alice\0alice\0p\xc3\xa4ss").unwrap();
        assert_eq!(m.password, "päss");
        assert_eq!(parse(b"bob\0alice\0pw").unwrap_err(), PlainError::AuthzId);
    }

    #[test]
    fn malformed_messages_are_refused_without_echoing_the_password() {
        for bad in [
            &b""[..],
            b"alice",
            b"\0alice",
            b"\0\0pw",
            b"\0alice\0",
            b"\0alice\0pw\0extra",
            b"\0alice\0\xff",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(matches!(err, PlainError::Malformed(_)), "{bad:?}");
        }
        let err = parse(b"\0alice\0topsecret\0x").unwrap_err();
        assert!(!err.to_string().contains("topsecret"));
        assert!(parse(&vec![b'a'; MAX_MESSAGE + 1]).is_err());
        let m = parse(b"\0alice\0topsecret").unwrap();
        assert!(!format!("{m:?}").contains("topsecret"));
    }
}
