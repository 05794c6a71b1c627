//! The encode direction (hcert spec §3–§4): DCC JSON → CWT claims → COSE_Sign1 → zlib →
//! Base45 → `HC1:`. Used by `issue`, the tests and the load-test corpus; pure, the signer is
//! passed in as a closure and the instants as arguments.

use coset::cbor::value::Value;
use coset::{CoseSign1Builder, HeaderBuilder, TaggedCborSerializable, iana};
use flate2::{Compression, write::ZlibEncoder};
use serde_json::Value as Json;
use std::io::Write;
use time::OffsetDateTime;

use crate::crypto::Alg;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("the DCC cannot be encoded as CBOR")]
    Cbor,
    #[error("signing failed")]
    Signing,
}

/// The claims of a new certificate.
#[derive(Debug, Clone)]
pub struct NewClaims<'a> {
    pub iss: &'a str,
    pub iat: OffsetDateTime,
    pub exp: OffsetDateTime,
    pub dcc: &'a Json,
}

/// CWT claims `{1: iss, 4: exp, 6: iat, -260: {1: dcc}}` as CBOR.
pub fn cwt_claims(c: &NewClaims<'_>) -> Result<Vec<u8>, EncodeError> {
    let dcc = Value::serialized(c.dcc).map_err(|_| EncodeError::Cbor)?;
    let map = Value::Map(vec![
        (Value::Integer(1.into()), Value::Text(c.iss.to_owned())),
        (
            Value::Integer(4.into()),
            Value::Integer(c.exp.unix_timestamp().into()),
        ),
        (
            Value::Integer(6.into()),
            Value::Integer(c.iat.unix_timestamp().into()),
        ),
        (
            Value::Integer((-260).into()),
            Value::Map(vec![(Value::Integer(1.into()), dcc)]),
        ),
    ]);
    let mut out = Vec::new();
    coset::cbor::ser::into_writer(&map, &mut out).map_err(|_| EncodeError::Cbor)?;
    Ok(out)
}

/// A tagged COSE_Sign1 with alg and kid in the protected header.
pub fn sign1<E>(
    payload: Vec<u8>,
    kid: &[u8],
    alg: Alg,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, EncodeError> {
    let alg = match alg {
        Alg::Es256 => iana::Algorithm::ES256,
        Alg::Ps256 => iana::Algorithm::PS256,
    };
    let protected = HeaderBuilder::new()
        .algorithm(alg)
        .key_id(kid.to_vec())
        .build();
    let msg = CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .try_create_signature(&[], sign)
        .map_err(|_| EncodeError::Signing)?
        .build();
    msg.to_tagged_vec().map_err(|_| EncodeError::Cbor)
}

/// zlib (best compression), Base45 and the `HC1:` prefix.
pub fn wrap(cose: &[u8]) -> String {
    let mut z = ZlibEncoder::new(Vec::with_capacity(cose.len()), Compression::best());
    // Writing to a Vec cannot fail.
    let compressed = z
        .write_all(cose)
        .and_then(|()| z.finish())
        .unwrap_or_default();
    format!("{}{}", super::prefix::PREFIX, base45::encode(&compressed))
}
