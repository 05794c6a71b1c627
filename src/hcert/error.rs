//! The one error vocabulary of the verification pipeline (DESIGN.md §4, "Error codes").
//!
//! Every stage has its own small error enum (no `String` payloads, `PartialEq` for tests); each
//! variant maps to exactly one stable [`ErrorCode`] and, through it, one [`Stage`]. The wire, the
//! CLI and the logs use [`ErrorCode::as_str`] and nothing else, so the codes can never drift.
//! Messages are fixed English sentences: they never contain holder data, the QR text or inner
//! crypto errors (a failed signature says only that it failed).

use serde::Serialize;

/// The pipeline stage an error or warning belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Decode,
    Signature,
    Policy,
    Payload,
}

/// Stable error codes, shared by the HTTP API and the CLI.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    PrefixInvalid,
    Base45Invalid,
    DecompressFailed,
    PayloadTooLarge,
    CoseInvalid,
    CwtInvalid,
    QrNotFound,
    Base32Invalid,
    Base64Invalid,
    ShcChunked,
    JwsInvalid,
    KidMissing,
    KidUnknown,
    IssuerUntrusted,
    AlgUnsupported,
    KeyUnsupported,
    SignatureInvalid,
    DscNotValid,
    KeyUsageMismatch,
    CwtExpired,
    CwtNotYetValid,
    Revoked,
    TrustStale,
    PayloadSchemaInvalid,
    PayloadValuesetInvalid,
    CredentialInvalid,
}

impl ErrorCode {
    /// Every code, in the order of DESIGN.md §4.
    pub const ALL: [ErrorCode; 26] = [
        ErrorCode::PrefixInvalid,
        ErrorCode::Base45Invalid,
        ErrorCode::DecompressFailed,
        ErrorCode::PayloadTooLarge,
        ErrorCode::CoseInvalid,
        ErrorCode::CwtInvalid,
        ErrorCode::QrNotFound,
        ErrorCode::Base32Invalid,
        ErrorCode::Base64Invalid,
        ErrorCode::ShcChunked,
        ErrorCode::JwsInvalid,
        ErrorCode::KidMissing,
        ErrorCode::KidUnknown,
        ErrorCode::IssuerUntrusted,
        ErrorCode::AlgUnsupported,
        ErrorCode::KeyUnsupported,
        ErrorCode::SignatureInvalid,
        ErrorCode::DscNotValid,
        ErrorCode::KeyUsageMismatch,
        ErrorCode::CwtExpired,
        ErrorCode::CwtNotYetValid,
        ErrorCode::Revoked,
        ErrorCode::TrustStale,
        ErrorCode::PayloadSchemaInvalid,
        ErrorCode::PayloadValuesetInvalid,
        ErrorCode::CredentialInvalid,
    ];

    /// The stable wire form, e.g. `"SIGNATURE_INVALID"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::PrefixInvalid => "PREFIX_INVALID",
            ErrorCode::Base45Invalid => "BASE45_INVALID",
            ErrorCode::DecompressFailed => "DECOMPRESS_FAILED",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::CoseInvalid => "COSE_INVALID",
            ErrorCode::CwtInvalid => "CWT_INVALID",
            ErrorCode::QrNotFound => "QR_NOT_FOUND",
            ErrorCode::Base32Invalid => "BASE32_INVALID",
            ErrorCode::Base64Invalid => "BASE64_INVALID",
            ErrorCode::ShcChunked => "SHC_CHUNKED",
            ErrorCode::JwsInvalid => "JWS_INVALID",
            ErrorCode::IssuerUntrusted => "ISSUER_UNTRUSTED",
            ErrorCode::CredentialInvalid => "CREDENTIAL_INVALID",
            ErrorCode::KidMissing => "KID_MISSING",
            ErrorCode::KidUnknown => "KID_UNKNOWN",
            ErrorCode::AlgUnsupported => "ALG_UNSUPPORTED",
            ErrorCode::KeyUnsupported => "KEY_UNSUPPORTED",
            ErrorCode::SignatureInvalid => "SIGNATURE_INVALID",
            ErrorCode::DscNotValid => "DSC_NOT_VALID",
            ErrorCode::KeyUsageMismatch => "KEY_USAGE_MISMATCH",
            ErrorCode::CwtExpired => "CWT_EXPIRED",
            ErrorCode::CwtNotYetValid => "CWT_NOT_YET_VALID",
            ErrorCode::Revoked => "REVOKED",
            ErrorCode::TrustStale => "TRUST_STALE",
            ErrorCode::PayloadSchemaInvalid => "PAYLOAD_SCHEMA_INVALID",
            ErrorCode::PayloadValuesetInvalid => "PAYLOAD_VALUESET_INVALID",
        }
    }

    /// The stage this code belongs to.
    pub const fn stage(self) -> Stage {
        match self {
            ErrorCode::PrefixInvalid
            | ErrorCode::Base45Invalid
            | ErrorCode::DecompressFailed
            | ErrorCode::PayloadTooLarge
            | ErrorCode::CoseInvalid
            | ErrorCode::CwtInvalid
            | ErrorCode::QrNotFound
            | ErrorCode::Base32Invalid
            | ErrorCode::Base64Invalid
            | ErrorCode::ShcChunked
            | ErrorCode::JwsInvalid => Stage::Decode,
            ErrorCode::KidMissing
            | ErrorCode::KidUnknown
            | ErrorCode::IssuerUntrusted
            | ErrorCode::AlgUnsupported
            | ErrorCode::KeyUnsupported
            | ErrorCode::SignatureInvalid => Stage::Signature,
            ErrorCode::DscNotValid
            | ErrorCode::KeyUsageMismatch
            | ErrorCode::CwtExpired
            | ErrorCode::CwtNotYetValid
            | ErrorCode::Revoked
            | ErrorCode::TrustStale => Stage::Policy,
            ErrorCode::PayloadSchemaInvalid
            | ErrorCode::PayloadValuesetInvalid
            | ErrorCode::CredentialInvalid => Stage::Payload,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Anything that carries a stable code: every stage error implements it.
pub trait Coded: std::fmt::Display {
    fn code(&self) -> ErrorCode;
}

/// One error or warning as it appears in a `VerificationResult`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Finding {
    pub code: ErrorCode,
    pub stage: Stage,
    pub message: String,
}

impl Finding {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Finding {
            code,
            stage: code.stage(),
            message: message.into(),
        }
    }

    pub fn from_error(err: &dyn Coded) -> Self {
        Finding::new(err.code(), err.to_string())
    }
}

/// Errors of the decode stage: prefix, Base45, zlib, COSE container.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the QR text does not start with the context identifier \"HC1:\"")]
    MissingPrefix,
    #[error("the QR text uses an unsupported HCERT version prefix (only \"HC1:\" is supported)")]
    UnsupportedVersion,
    /// Another family of health pass, recognised by its framing (see `prefix::other_pass`).
    #[error(
        "the QR code is {0}, not an EU Digital COVID Certificate (\"HC1:\"): this gateway verifies EU DCC and WHO DDCC in HC1 framing only"
    )]
    OtherPass(&'static str),
    #[error("the QR text is longer than the limit of a QR code (8 192 characters by default)")]
    QrTooLong,
    #[error("invalid Base45: character at offset {offset} is outside the alphabet")]
    Base45Char { offset: usize },
    #[error("invalid Base45: the length leaves a single dangling character")]
    Base45Length,
    #[error("invalid Base45: group at offset {offset} encodes a value out of range")]
    Base45Overflow { offset: usize },
    #[error("the payload is not zlib-compressed")]
    NotZlib,
    #[error("the zlib stream is corrupt or truncated")]
    Inflate,
    #[error("the decompressed payload exceeds the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the payload is not well-formed CBOR")]
    Cbor,
    #[error("the CBOR nesting is deeper than allowed")]
    CborTooDeep,
    #[error("trailing bytes after the COSE structure")]
    TrailingBytes,
    #[error("the CBOR tag is not COSE_Sign1 (18) or CWT (61)")]
    UnexpectedTag,
    #[error("the structure is not a COSE_Sign1 message")]
    NotCoseSign1,
    #[error("the COSE_Sign1 message has no payload")]
    MissingPayload,
    #[error("no QR code was found in the image")]
    QrNotFound,
    #[error("the image could not be decoded as PNG or JPEG")]
    ImageInvalid,
    #[error("the image is larger than allowed")]
    ImageTooLarge,
}

impl Coded for DecodeError {
    fn code(&self) -> ErrorCode {
        match self {
            DecodeError::MissingPrefix
            | DecodeError::UnsupportedVersion
            | DecodeError::OtherPass(_) => ErrorCode::PrefixInvalid,
            DecodeError::Base45Char { .. }
            | DecodeError::Base45Length
            | DecodeError::Base45Overflow { .. } => ErrorCode::Base45Invalid,
            DecodeError::NotZlib | DecodeError::Inflate => ErrorCode::DecompressFailed,
            DecodeError::TooLarge { .. } | DecodeError::ImageTooLarge | DecodeError::QrTooLong => {
                ErrorCode::PayloadTooLarge
            }
            DecodeError::Cbor
            | DecodeError::CborTooDeep
            | DecodeError::TrailingBytes
            | DecodeError::UnexpectedTag
            | DecodeError::NotCoseSign1
            | DecodeError::MissingPayload => ErrorCode::CoseInvalid,
            DecodeError::QrNotFound | DecodeError::ImageInvalid => ErrorCode::QrNotFound,
        }
    }
}

/// Errors of the signature stage. Deliberately opaque about *why* a signature failed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the COSE headers carry no key identifier (kid)")]
    KidMissing,
    #[error("no trusted Document Signer Certificate has this key identifier")]
    KidUnknown,
    #[error("the COSE headers carry no algorithm or an unsupported one (ES256 and PS256 only)")]
    AlgMissingOrUnknown,
    #[error("the algorithm does not match the key type of any candidate signer certificate")]
    AlgKeyMismatch,
    #[error(
        "the signer certificate's RSA key has {bits} bits; PS256 is accepted only with 2048- to 4096-bit keys"
    )]
    RsaKeySize { bits: usize },
    #[error("the signature does not verify against any trusted signer certificate with this kid")]
    Invalid,
}

impl Coded for SignatureError {
    fn code(&self) -> ErrorCode {
        match self {
            SignatureError::KidMissing => ErrorCode::KidMissing,
            SignatureError::KidUnknown => ErrorCode::KidUnknown,
            SignatureError::AlgMissingOrUnknown | SignatureError::AlgKeyMismatch => {
                ErrorCode::AlgUnsupported
            }
            SignatureError::RsaKeySize { .. } => ErrorCode::KeyUnsupported,
            SignatureError::Invalid => ErrorCode::SignatureInvalid,
        }
    }
}

/// Errors reading the (signed) CWT claims.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    #[error("the CWT payload is not a CBOR map")]
    NotAMap,
    #[error("the CWT payload is not well-formed CBOR")]
    Cbor,
    #[error("CWT claim {claim} has the wrong type")]
    WrongType { claim: i64 },
    #[error("CWT claim {claim} appears more than once")]
    Duplicate { claim: i64 },
    #[error("the CWT has no expiry (exp, claim 4)")]
    MissingExp,
    #[error("the CWT has no health certificate (claim -260, key 1)")]
    MissingHcert,
    #[error("the health certificate cannot be represented as JSON")]
    NotJson,
    #[error("the health certificate nesting is deeper than allowed")]
    TooDeep,
}

impl Coded for ClaimsError {
    fn code(&self) -> ErrorCode {
        ErrorCode::CwtInvalid
    }
}
