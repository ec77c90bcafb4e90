//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as a Kafka broker speaks them: the
//! stored credential (salt, StoredKey, ServerKey, iterations; never the password), and the
//! server side of the two-round exchange.
//!
//! ```text
//! client-first   n,[a=authzid],n=user,r=cnonce[,ext]
//! server-first   r=cnonce+snonce,s=base64(salt),i=iterations
//! client-final   c=base64(gs2-header),r=cnonce+snonce[,ext],p=base64(ClientProof)
//! server-final   v=base64(ServerSignature)
//! ```
//!
//! SaltedPassword = PBKDF2-HMAC(password, salt, i); ClientKey = HMAC(SaltedPassword,
//! "Client Key"); StoredKey = H(ClientKey); ServerKey = HMAC(SaltedPassword, "Server Key");
//! AuthMessage = client-first-bare "," server-first "," client-final-without-proof. The proof
//! is accepted when H(proof XOR HMAC(StoredKey, AuthMessage)) equals StoredKey, compared in
//! constant time. Like Kafka, passwords are not SASLprep-normalised, and failures carry no
//! `e=` attribute: the broker answers SASL_AUTHENTICATION_FAILED instead.
//!
//! An unknown user gets a server-first message like any other (a salt derived from the name
//! and a per-process secret) and fails at the proof, so the exchange does not reveal which
//! users exist. Nothing here does I/O or logs; error texts never contain secret material.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

/// Kafka's bounds for SCRAM iterations (ScramMechanism): clients refuse fewer than 4096.
pub const MIN_ITERATIONS: u32 = 4096;
pub const MAX_ITERATIONS: u32 = 16384;
/// What `add-user` uses unless told otherwise (Kafka's kafka-configs default).
pub const DEFAULT_ITERATIONS: u32 = 4096;
const SALT_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;
/// Longest SCRAM message accepted: a username and a nonce fit many times over.
const MAX_MESSAGE: usize = 4096;

/// The hash a SCRAM mechanism is built on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScramHash {
    Sha256,
    Sha512,
}

impl ScramHash {
    pub const ALL: [ScramHash; 2] = [ScramHash::Sha256, ScramHash::Sha512];

    /// The SASL mechanism name, as clients and the users file spell it.
    pub fn mechanism(self) -> &'static str {
        match self {
            ScramHash::Sha256 => "SCRAM-SHA-256",
            ScramHash::Sha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_mechanism(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.mechanism() == name)
    }

    pub fn output_len(self) -> usize {
        match self {
            ScramHash::Sha256 => 32,
            ScramHash::Sha512 => 64,
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        // HMAC takes keys of any length: new_from_slice cannot fail.
        match self {
            ScramHash::Sha256 => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha512 => {
                let mut m = <Hmac<Sha512> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut out = vec![0u8; self.output_len()];
        match self {
            ScramHash::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out),
            ScramHash::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out),
        }
        out
    }
}

/// What the broker stores for one user and mechanism.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredential {
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
    pub iterations: u32,
}

impl std::fmt::Debug for ScramCredential {
    // Keys are password-equivalent for an offline attack: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramCredential")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl ScramCredential {
    /// Derives a credential from a password with a fresh random salt.
    pub fn derive(hash: ScramHash, password: &str, iterations: u32) -> Result<Self, getrandom::Error> {
        let mut salt = vec![0u8; SALT_BYTES];
        getrandom::getrandom(&mut salt)?;
        Ok(Self::derive_with_salt(hash, password, salt, iterations))
    }

    pub fn derive_with_salt(hash: ScramHash, password: &str, salt: Vec<u8>, iterations: u32) -> Self {
        let salted = hash.salted_password(password.as_bytes(), &salt, iterations);
        let client_key = hash.hmac(&salted, b"Client Key");
        ScramCredential {
            stored_key: hash.hash(&client_key),
            server_key: hash.hmac(&salted, b"Server Key"),
            salt,
            iterations,
        }
    }

    /// Checks a plain password against this credential (SASL/PLAIN): derives StoredKey with the
    /// stored salt and iterations and compares in constant time. Costs one PBKDF2 run.
    pub fn verify_password(&self, hash: ScramHash, password: &str) -> bool {
        let salted = hash.salted_password(password.as_bytes(), &self.salt, self.iterations);
        let stored_key = hash.hash(&hash.hmac(&salted, b"Client Key"));
        bool::from(stored_key.ct_eq(&self.stored_key))
    }

    /// Whether the stored sizes fit the hash (a damaged users file must not pass).
    pub fn fits(&self, hash: ScramHash) -> bool {
        self.stored_key.len() == hash.output_len()
            && self.server_key.len() == hash.output_len()
            && !self.salt.is_empty()
            && (MIN_ITERATIONS..=MAX_ITERATIONS).contains(&self.iterations)
    }
}

/// Why an exchange failed. The text is for the broker's log: it names what was wrong, never a
/// proof, key or password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    #[error("malformed SCRAM message: {0}")]
    Malformed(&'static str),
    #[error("channel binding is not supported")]
    ChannelBinding,
    #[error("authorization id differs from the user name")]
    AuthzId,
    #[error("delegation tokens are not supported")]
    TokenAuth,
    #[error("unknown user")]
    UnknownUser,
    #[error("nonce in the final message does not match")]
    Nonce,
    #[error("channel binding in the final message does not match the first")]
    ChannelBindingMismatch,
    #[error("invalid client proof (wrong password)")]
    Proof,
    #[error("message received after the exchange ended")]
    Finished,
    #[error("cannot draw random bytes: {0}")]
    Random(String),
}

/// The first client message, parsed.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientFirst {
    pub gs2_header: String,
    pub user: String,
    pub nonce: String,
    pub bare: String,
    /// `tokenauth=true`: a delegation-token login (not supported).
    pub token_auth: bool,
}

fn utf8(msg: &[u8]) -> Result<&str, ScramError> {
    if msg.len() > MAX_MESSAGE {
        return Err(ScramError::Malformed("message too long"));
    }
    std::str::from_utf8(msg).map_err(|_| ScramError::Malformed("not UTF-8"))
}

/// RFC 5802 saslname: `=2C` is ',' and `=3D` is '='; any other '=' is invalid.
fn decode_saslname(s: &str) -> Result<String, ScramError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        let esc = rest
            .get(i..i + 3)
            .ok_or(ScramError::Malformed("bad escape in user name"))?;
        match esc {
            "=2C" => out.push(','),
            "=3D" => out.push('='),
            _ => return Err(ScramError::Malformed("bad escape in user name")),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    if out.is_empty() {
        return Err(ScramError::Malformed("empty user name"));
    }
    Ok(out)
}

/// RFC 5802 `printable`: 0x21-0x7E except ','.
fn printable_nonce(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

pub fn parse_client_first(msg: &[u8]) -> Result<ClientFirst, ScramError> {
    let text = utf8(msg)?;
    // gs2-header: cbind-flag "," [a=authzid] ","
    let (flag, rest) = text.split_once(',').ok_or(ScramError::Malformed("no GS2 header"))?;
    match flag {
        "n" | "y" => {}
        f if f.starts_with("p=") => return Err(ScramError::ChannelBinding),
        _ => return Err(ScramError::Malformed("bad GS2 channel-binding flag")),
    }
    let (authzid, bare) = rest.split_once(',').ok_or(ScramError::Malformed("no GS2 header"))?;
    let gs2_header = text[..flag.len() + authzid.len() + 2].to_string();
    let authzid = match authzid {
        "" => None,
        a => Some(decode_saslname(
            a.strip_prefix("a=")
                .ok_or(ScramError::Malformed("bad authorization id"))?,
        )?),
    };
    let mut attrs = bare.split(',');
    let user = match attrs.next() {
        Some(a) if a.starts_with("m=") => return Err(ScramError::Malformed("mandatory extension not supported")),
        Some(a) => decode_saslname(a.strip_prefix("n=").ok_or(ScramError::Malformed("no user name"))?)?,
        None => return Err(ScramError::Malformed("no user name")),
    };
    let nonce = attrs
        .next()
        .and_then(|a| a.strip_prefix("r="))
        .ok_or(ScramError::Malformed("no nonce"))?;
    if !printable_nonce(nonce) {
        return Err(ScramError::Malformed("bad nonce"));
    }
    let mut token_auth = false;
    for ext in attrs {
        let (k, v) = ext.split_once('=').ok_or(ScramError::Malformed("bad extension"))?;
        if k.is_empty() {
            return Err(ScramError::Malformed("bad extension"));
        }
        if k == "tokenauth" && v.eq_ignore_ascii_case("true") {
            token_auth = true;
        }
    }
    if let Some(a) = authzid {
        if a != user {
            return Err(ScramError::AuthzId);
        }
    }
    Ok(ClientFirst {
        gs2_header,
        user,
        nonce: nonce.to_string(),
        bare: bare.to_string(),
        token_auth,
    })
}

/// The final client message, parsed.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientFinal {
    pub channel_binding: Vec<u8>,
    pub nonce: String,
    pub without_proof: String,
    pub proof: Vec<u8>,
}

pub fn parse_client_final(msg: &[u8]) -> Result<ClientFinal, ScramError> {
    let text = utf8(msg)?;
    let at = text.rfind(",p=").ok_or(ScramError::Malformed("no proof"))?;
    let (without_proof, proof) = (&text[..at], &text[at + 3..]);
    let proof = B64
        .decode(proof)
        .map_err(|_| ScramError::Malformed("proof is not base64"))?;
    let mut attrs = without_proof.split(',');
    let channel_binding = attrs
        .next()
        .and_then(|a| a.strip_prefix("c="))
        .ok_or(ScramError::Malformed("no channel binding"))?;
    let channel_binding = B64
        .decode(channel_binding)
        .map_err(|_| ScramError::Malformed("channel binding is not base64"))?;
    let nonce = attrs
        .next()
        .and_then(|a| a.strip_prefix("r="))
        .ok_or(ScramError::Malformed("no nonce"))?;
    Ok(ClientFinal {
        channel_binding,
        nonce: nonce.to_string(),
        without_proof: without_proof.to_string(),
        proof,
    })
}

fn random_bytes(n: usize) -> Result<Vec<u8>, ScramError> {
    let mut b = vec![0u8; n];
    getrandom::getrandom(&mut b).map_err(|e| ScramError::Random(e.to_string()))?;
    Ok(b)
}

/// The server side of one exchange.
pub struct ScramServer {
    hash: ScramHash,
    state: State,
}

enum State {
    First,
    Final {
        user: String,
        /// None for an unknown user: the exchange runs to the proof, which then fails.
        credential: Option<ScramCredential>,
        gs2_header: String,
        nonce: String,
        auth_prefix: String,
    },
    Done,
}

/// What the first step produced.
pub struct FirstStep {
    pub user: String,
    pub server_first: Vec<u8>,
}

impl ScramServer {
    pub fn new(hash: ScramHash) -> Self {
        ScramServer {
            hash,
            state: State::First,
        }
    }

    pub fn hash(&self) -> ScramHash {
        self.hash
    }

    /// The user named by the first message, once it has been seen.
    pub fn user(&self) -> Option<&str> {
        match &self.state {
            State::Final { user, .. } => Some(user),
            _ => None,
        }
    }

    /// Answers the client-first message. `credential` is the user's stored credential for this
    /// mechanism, or None when there is none; `secret` (random per process) derives the stand-in
    /// salt of unknown users so that it stays the same across attempts.
    pub fn first(
        &mut self,
        first: ClientFirst,
        credential: Option<ScramCredential>,
        secret: &[u8],
    ) -> Result<FirstStep, ScramError> {
        if !matches!(self.state, State::First) {
            return Err(ScramError::Finished);
        }
        self.state = State::Done;
        if first.token_auth {
            return Err(ScramError::TokenAuth);
        }
        let credential = credential.filter(|c| c.fits(self.hash));
        let (salt, iterations) = match &credential {
            Some(c) => (c.salt.clone(), c.iterations),
            None => {
                let mut salt = self.hash.hmac(secret, first.user.as_bytes());
                salt.truncate(SALT_BYTES);
                (salt, DEFAULT_ITERATIONS)
            }
        };
        let server_nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(NONCE_BYTES)?);
        let nonce = format!("{}{}", first.nonce, server_nonce);
        let server_first = format!("r={nonce},s={},i={iterations}", B64.encode(&salt));
        let auth_prefix = format!("{},{server_first},", first.bare);
        self.state = State::Final {
            user: first.user.clone(),
            credential,
            gs2_header: first.gs2_header,
            nonce,
            auth_prefix,
        };
        Ok(FirstStep {
            user: first.user,
            server_first: server_first.into_bytes(),
        })
    }

    /// Checks the client-final message; on success returns the server-final message.
    pub fn finish(&mut self, msg: &[u8]) -> Result<Vec<u8>, ScramError> {
        let State::Final {
            credential,
            gs2_header,
            nonce,
            auth_prefix,
            ..
        } = std::mem::replace(&mut self.state, State::Done)
        else {
            return Err(ScramError::Finished);
        };
        let fin = parse_client_final(msg)?;
        // Kafka accepts a final nonce that *ends with* the combined one: librdkafka before 2.1
        // sends client nonce + combined nonce. The fresh server part must be there either way.
        if !fin.nonce.ends_with(&nonce) {
            return Err(ScramError::Nonce);
        }
        if fin.channel_binding != gs2_header.as_bytes() {
            return Err(ScramError::ChannelBindingMismatch);
        }
        let Some(credential) = credential else {
            return Err(ScramError::UnknownUser);
        };
        if fin.proof.len() != self.hash.output_len() {
            return Err(ScramError::Proof);
        }
        let auth_message = format!("{auth_prefix}{}", fin.without_proof);
        let client_signature = self.hash.hmac(&credential.stored_key, auth_message.as_bytes());
        let client_key: Vec<u8> = fin.proof.iter().zip(&client_signature).map(|(p, s)| p ^ s).collect();
        if !bool::from(self.hash.hash(&client_key).ct_eq(&credential.stored_key)) {
            return Err(ScramError::Proof);
        }
        let server_signature = self.hash.hmac(&credential.server_key, auth_message.as_bytes());
        Ok(format!("v={}", B64.encode(server_signature)).into_bytes())
    }
}

/// The client side, for tests of the server (the real clients are librdkafka and friends).
#[cfg(test)]
pub mod client {
    use super::*;

    pub fn proof(hash: ScramHash, password: &str, salt: &[u8], iterations: u32, auth_message: &str) -> Vec<u8> {
        let salted = hash.salted_password(password.as_bytes(), salt, iterations);
        let client_key = hash.hmac(&salted, b"Client Key");
        let stored_key = hash.hash(&client_key);
        let signature = hash.hmac(&stored_key, auth_message.as_bytes());
        client_key.iter().zip(&signature).map(|(k, s)| k ^ s).collect()
    }

    pub fn server_signature(hash: ScramHash, password: &str, salt: &[u8], iterations: u32, auth: &str) -> Vec<u8> {
        let salted = hash.salted_password(password.as_bytes(), salt, iterations);
        hash.hmac(&hash.hmac(&salted, b"Server Key"), auth.as_bytes())
    }

    /// Runs a whole exchange against `server`; returns the server-final message or the error.
    pub fn exchange(
        server: &mut ScramServer,
        credential: Option<ScramCredential>,
        user: &str,
        password: &str,
    ) -> Result<(Vec<u8>, String), ScramError> {
        let hash = server.hash();
        let bare = format!("n={user},r=clientnonce");
        let first = parse_client_first(format!("n,,{bare}").as_bytes())?;
        let step = server.first(first, credential, b"secret")?;
        let server_first = String::from_utf8(step.server_first).unwrap();
        let mut nonce = "";
        let mut salt = Vec::new();
        let mut iterations = 0;
        for attr in server_first.split(',') {
            match attr.split_at(2) {
                ("r=", v) => nonce = v,
                ("s=", v) => salt = B64.decode(v).unwrap(),
                ("i=", v) => iterations = v.parse().unwrap(),
                _ => panic!("unexpected attribute {attr}"),
            }
        }
        let without_proof = format!("c=biws,r={nonce}");
        let auth = format!("{bare},{server_first},{without_proof}");
        let p = proof(hash, password, &salt, iterations, &auth);
        let fin = format!("{without_proof},p={}", B64.encode(p));
        let reply = server.finish(fin.as_bytes())?;
        Ok((reply, auth))
    }
}

#[cfg(test)]
mod tests {
    use super::client::*;
    use super::*;

    /// RFC 7677 section 3: user "user", password "pencil", the nonces and salt given there.
    #[test]
    fn rfc7677_sha256_example_verifies_and_signs() {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let cred = ScramCredential::derive_with_salt(ScramHash::Sha256, "pencil", salt.clone(), 4096);
        let bare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let without_proof = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let auth = format!("{bare},{server_first},{without_proof}");
        let p = proof(ScramHash::Sha256, "pencil", &salt, 4096, &auth);
        assert_eq!(B64.encode(&p), "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
        // Drive the server through the same messages: fix its nonce by building the state.
        let mut server = ScramServer {
            hash: ScramHash::Sha256,
            state: State::Final {
                user: "user".into(),
                credential: Some(cred),
                gs2_header: "n,,".into(),
                nonce: "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into(),
                auth_prefix: format!("{bare},{server_first},"),
            },
        };
        let reply = server
            .finish(format!("{without_proof},p={}", B64.encode(&p)).as_bytes())
            .unwrap();
        assert_eq!(reply, b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    }

    #[test]
    fn both_hashes_accept_the_right_password_and_sign_for_it() {
        for hash in ScramHash::ALL {
            let cred = ScramCredential::derive(hash, "s3cret pässword", 4096).unwrap();
            let mut server = ScramServer::new(hash);
            let (reply, auth) = exchange(&mut server, Some(cred.clone()), "alice", "s3cret pässword").unwrap();
            let expected = server_signature(hash, "s3cret pässword", &cred.salt, 4096, &auth);
            assert_eq!(reply, format!("v={}", B64.encode(expected)).into_bytes(), "{hash:?}");
        }
    }

    #[test]
    fn wrong_password_fails_at_the_proof() {
        let cred = ScramCredential::derive(ScramHash::Sha512, "right", 4096).unwrap();
        let mut server = ScramServer::new(ScramHash::Sha512);
        let err = exchange(&mut server, Some(cred), "alice", "wrong").unwrap_err();
        assert_eq!(err, ScramError::Proof);
    }

    #[test]
    fn unknown_user_gets_a_stable_salt_and_fails_only_at_the_proof() {
        let mut a = ScramServer::new(ScramHash::Sha256);
        let step_a = a
            .first(
                parse_client_first(b"n,,n=mallory,r=abc").unwrap(),
                None,
                b"process secret",
            )
            .unwrap();
        let mut b = ScramServer::new(ScramHash::Sha256);
        let step_b = b
            .first(
                parse_client_first(b"n,,n=mallory,r=xyz").unwrap(),
                None,
                b"process secret",
            )
            .unwrap();
        let salt = |m: &[u8]| {
            String::from_utf8(m.to_vec())
                .unwrap()
                .split(',')
                .nth(1)
                .unwrap()
                .to_string()
        };
        assert_eq!(salt(&step_a.server_first), salt(&step_b.server_first));
        let mut c = ScramServer::new(ScramHash::Sha256);
        assert_eq!(
            exchange(&mut c, None, "mallory", "guess").unwrap_err(),
            ScramError::UnknownUser
        );
    }

    #[test]
    fn a_credential_of_the_other_hash_is_treated_as_absent() {
        let cred = ScramCredential::derive(ScramHash::Sha256, "pw", 4096).unwrap();
        let mut server = ScramServer::new(ScramHash::Sha512);
        assert_eq!(
            exchange(&mut server, Some(cred), "alice", "pw").unwrap_err(),
            ScramError::UnknownUser
        );
    }

    #[test]
    fn client_first_parsing_follows_rfc5802() {
        let f = parse_client_first(b"n,,n=us=2Cer=3D,r=nonce").unwrap();
        assert_eq!(f.user, "us,er=");
        assert_eq!(f.gs2_header, "n,,");
        assert_eq!(f.bare, "n=us=2Cer=3D,r=nonce");
        let f = parse_client_first(b"y,a=bob,n=bob,r=n0,tokenauth=true").unwrap();
        assert_eq!(f.gs2_header, "y,a=bob,");
        assert!(f.token_auth);
        assert_eq!(
            parse_client_first(b"n,a=eve,n=bob,r=n0").unwrap_err(),
            ScramError::AuthzId
        );
        assert_eq!(
            parse_client_first(b"p=tls-unique,,n=bob,r=n0").unwrap_err(),
            ScramError::ChannelBinding
        );
        for bad in [
            &b""[..],
            b"n,,",
            b"n,,n=,r=x",
            b"n,,n=a=2,r=x",
            b"n,,n=bob",
            b"n,,n=bob,r=",
            b"n,,n=bob,r=a b\x01",
            b"x,,n=bob,r=abc",
            b"n,,m=ext,n=bob,r=abc",
            b"n,,n=bob,r=abc,=v",
            b"n,,n=\xff,r=abc",
        ] {
            assert!(
                matches!(parse_client_first(bad), Err(ScramError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = format!("n,,n={},r=abc", "u".repeat(MAX_MESSAGE));
        assert!(parse_client_first(long.as_bytes()).is_err());
    }

    #[test]
    fn final_message_must_echo_nonce_and_channel_binding() {
        let cred = ScramCredential::derive(ScramHash::Sha256, "pw", 4096).unwrap();
        let start = |server: &mut ScramServer| {
            let step = server
                .first(parse_client_first(b"n,,n=u,r=cn").unwrap(), Some(cred.clone()), b"s")
                .unwrap();
            let sf = String::from_utf8(step.server_first).unwrap();
            sf.split(',').next().unwrap()[2..].to_string()
        };
        let mut s = ScramServer::new(ScramHash::Sha256);
        let nonce = start(&mut s);
        let p = B64.encode([0u8; 32]);
        assert_eq!(
            s.finish(format!("c=biws,r={nonce}x,p={p}").as_bytes()).unwrap_err(),
            ScramError::Nonce
        );
        let mut s = ScramServer::new(ScramHash::Sha256);
        let _ = start(&mut s);
        assert_eq!(
            s.finish(format!("c=biws,r=cn,p={p}").as_bytes()).unwrap_err(),
            ScramError::Nonce,
            "the client nonce alone lacks the server's part"
        );
        let mut s = ScramServer::new(ScramHash::Sha256);
        let nonce = start(&mut s);
        assert_eq!(
            s.finish(format!("c=eSws,r={nonce},p={p}").as_bytes()).unwrap_err(),
            ScramError::ChannelBindingMismatch
        );
        let mut s = ScramServer::new(ScramHash::Sha256);
        let nonce = start(&mut s);
        assert_eq!(
            s.finish(format!("c=biws,r={nonce},p={}", B64.encode([0u8; 5])).as_bytes())
                .unwrap_err(),
            ScramError::Proof
        );
        // After any final message the exchange is over.
        assert_eq!(s.finish(b"c=biws,r=x,p=AAAA").unwrap_err(), ScramError::Finished);
        let mut s = ScramServer::new(ScramHash::Sha256);
        assert_eq!(s.finish(b"c=biws,r=x,p=AAAA").unwrap_err(), ScramError::Finished);
    }

    /// librdkafka before 2.1 repeats its client nonce in front of the combined nonce; Kafka
    /// accepts that, and so must we (kcat on Debian 12 is librdkafka 2.0.2).
    #[test]
    fn a_final_nonce_with_the_client_nonce_repeated_in_front_is_accepted() {
        let hash = ScramHash::Sha512;
        let cred = ScramCredential::derive(hash, "pw", 4096).unwrap();
        let mut server = ScramServer::new(hash);
        let step = server
            .first(parse_client_first(b"n,,n=u,r=cn").unwrap(), Some(cred.clone()), b"s")
            .unwrap();
        let server_first = String::from_utf8(step.server_first).unwrap();
        let combined = &server_first.split(',').next().unwrap()[2..];
        let without_proof = format!("c=biws,r=cn{combined}");
        let auth = format!("n=u,r=cn,{server_first},{without_proof}");
        let p = proof(hash, "pw", &cred.salt, 4096, &auth);
        let reply = server
            .finish(format!("{without_proof},p={}", B64.encode(p)).as_bytes())
            .unwrap();
        assert!(reply.starts_with(b"v="));
    }

    #[test]
    fn plain_password_check_uses_the_stored_credential() {
        for hash in ScramHash::ALL {
            let cred = ScramCredential::derive(hash, "hunter2", 4096).unwrap();
            assert!(cred.verify_password(hash, "hunter2"));
            assert!(!cred.verify_password(hash, "hunter3"));
            assert!(!cred.verify_password(hash, ""));
        }
    }

    #[test]
    fn debug_output_hides_keys() {
        let cred = ScramCredential::derive(ScramHash::Sha256, "pw", 4096).unwrap();
        let text = format!("{cred:?}");
        assert!(!text.contains("salt") && !text.contains("key"), "{text}");
    }
}
