//! JSON-LD to RDF with bundled contexts, URDNA2015 canonicalisation ([`c14n`]) and the
//! Linked Data proof hashing built on them (`JsonWebSignature2020`, as WHO GDHCN signs;
//! `RsaSignature2018` / `Ed25519Signature2018`, as DIVOC signs).
//!
//! **Offline.** Remote contexts are never fetched: a document may only name the contexts
//! bundled in `src/ld/contexts/` ([`CONTEXTS`], copied verbatim from their publishers, see
//! `src/ld/contexts/SOURCES.md`); any other URL is [`LdError::UnknownContext`]. Expansion and
//! RDF conversion are OxJSON-LD's (JSON-LD 1.1, `@protected`, scoped contexts, canonical
//! `@json` literals); canonicalisation is ours ([`c14n`]).
//!
//! **Bounded.** Documents over [`MAX_DOCUMENT`] bytes are refused before parsing; the dataset
//! is bounded by [`c14n::MAX_QUADS`] and the canonicalisation work by [`c14n::MAX_WORK`];
//! context loading is bounded by the bundled set (OxJSON-LD refuses recursive inclusion).

pub mod c14n;

use std::sync::Arc;

use oxjsonld::{JsonLdParser, JsonLdRemoteDocument};
use serde_json::{Map, Value};

use crate::trust::formats::clip;
pub use c14n::{C14nError, Graph, Quad, Term};

/// Largest JSON-LD document processed.
pub const MAX_DOCUMENT: usize = 16 * 1024 * 1024;

/// The bundled contexts: URL and exact text.
pub const CONTEXTS: &[(&str, &str)] = &[
    (
        "https://www.w3.org/ns/did/v1",
        include_str!("contexts/did-v1.jsonld"),
    ),
    (
        "https://w3id.org/security/suites/jws-2020/v1",
        include_str!("contexts/jws-2020-v1.jsonld"),
    ),
    (
        "https://smart.who.int/trust/tng-context/v1.jsonld",
        include_str!("contexts/tng-context-v1.jsonld"),
    ),
    (
        "https://smart.who.int/trust/tng-context/v1-UAT.jsonld",
        include_str!("contexts/tng-context-v1-uat.jsonld"),
    ),
    (
        "https://smart.who.int/trust/tng-context/v1-DEV.jsonld",
        include_str!("contexts/tng-context-v1-dev.jsonld"),
    ),
    (
        "https://www.w3.org/2018/credentials/v1",
        include_str!("contexts/credentials-v1.jsonld"),
    ),
    (
        "https://w3id.org/security/v1",
        include_str!("contexts/security-v1.jsonld"),
    ),
    (
        "https://w3id.org/security/v2",
        include_str!("contexts/security-v2.jsonld"),
    ),
    (
        "https://cowin.gov.in/credentials/vaccination/v1",
        include_str!("contexts/divoc-vaccination-v1.jsonld"),
    ),
    (
        "https://cowin.gov.in/credentials/vaccination/v2",
        include_str!("contexts/divoc-vaccination-v2.jsonld"),
    ),
    (
        "https://www.pedulilindungi.id/credentials/vaccination/v2",
        include_str!("contexts/divoc-vaccination-v2.jsonld"),
    ),
    (
        "https://divoc.prod/vaccine/credentials/vaccination/v1",
        include_str!("contexts/divoc-vaccination-v2.jsonld"),
    ),
    (
        "https://divoc.lgcc.gov.lk/credentials/vaccination/v1",
        include_str!("contexts/divoc-vaccination-v2.jsonld"),
    ),
    (
        "https://cowin.gov.in/credentials/testCertificate/v1",
        include_str!("contexts/divoc-test-certificate-v1.jsonld"),
    ),
    (
        "https://cvstatus.icmr.gov.in/credentials/testCertificate/v1",
        include_str!("contexts/divoc-test-certificate-v1.jsonld"),
    ),
];

/// Why a JSON-LD document gave no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LdError {
    #[error("the JSON-LD document is larger than {MAX_DOCUMENT} bytes")]
    TooLarge,
    #[error("the JSON-LD document names a context that is not bundled: {0}")]
    UnknownContext(String),
    #[error("the JSON-LD document is invalid: {0}")]
    Invalid(String),
    #[error(transparent)]
    C14n(#[from] C14nError),
}

#[derive(Debug, thiserror::Error)]
#[error("context not bundled: {0}")]
struct NotBundled(String);

fn bundled(url: &str) -> Option<&'static str> {
    CONTEXTS
        .iter()
        .find(|(u, _)| *u == url)
        .map(|(_, text)| *text)
}

/// The RDF dataset of a JSON-LD document.
pub fn to_quads(doc: &Value) -> Result<Vec<Quad>, LdError> {
    let bytes = serde_json::to_vec(doc).map_err(|e| LdError::Invalid(e.to_string()))?;
    if bytes.len() > MAX_DOCUMENT {
        return Err(LdError::TooLarge);
    }
    let parser = JsonLdParser::new()
        .for_slice(&bytes)
        .with_load_document_callback(|url, _| match bundled(url) {
            Some(text) => Ok(JsonLdRemoteDocument {
                document: text.as_bytes().to_vec(),
                document_url: url.to_owned(),
            }),
            None => Err(Box::new(NotBundled(clip(url)))),
        });
    let mut quads = Vec::new();
    for quad in parser {
        let quad = quad.map_err(|e| {
            let text = e.to_string();
            match text.split_once("context not bundled: ") {
                Some((_, url)) => LdError::UnknownContext(clip(url)),
                None => LdError::Invalid(clip(&text)),
            }
        })?;
        if quads.len() >= c14n::MAX_QUADS {
            return Err(C14nError::TooLarge.into());
        }
        quads.push(convert(quad)?);
    }
    Ok(quads)
}

fn convert(q: oxrdf::Quad) -> Result<Quad, LdError> {
    let subject = match q.subject {
        oxrdf::NamedOrBlankNode::NamedNode(n) => Term::Iri(n.into_string()),
        oxrdf::NamedOrBlankNode::BlankNode(b) => Term::Blank(b.into_string()),
    };
    let object = match q.object {
        oxrdf::Term::NamedNode(n) => Term::Iri(n.into_string()),
        oxrdf::Term::BlankNode(b) => Term::Blank(b.into_string()),
        oxrdf::Term::Literal(l) => {
            let (value, datatype, language) = l.destruct();
            let language_known = language.is_some();
            Term::Literal {
                value,
                datatype: match (datatype, language_known) {
                    (Some(d), _) => d.into_string(),
                    (None, true) => {
                        "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString".to_owned()
                    }
                    (None, false) => "http://www.w3.org/2001/XMLSchema#string".to_owned(),
                },
                language,
            }
        }
    };
    let graph = match q.graph_name {
        oxrdf::GraphName::DefaultGraph => Graph::Default,
        oxrdf::GraphName::NamedNode(n) => Graph::Named(Term::Iri(n.into_string())),
        oxrdf::GraphName::BlankNode(b) => Graph::Named(Term::Blank(b.into_string())),
    };
    Ok(Quad {
        subject,
        predicate: q.predicate.into_string(),
        object,
        graph,
    })
}

/// The URDNA2015 canonical N-Quads of a JSON-LD document.
pub fn canonical_nquads(doc: &Value) -> Result<String, LdError> {
    Ok(c14n::canonicalize(&to_quads(doc)?)?)
}

/// The proof members that carry the signature itself and are never signed.
const SIGNATURE_MEMBERS: [&str; 3] = ["jws", "proofValue", "signatureValue"];

/// The data a Linked Data proof signs: SHA-256 of the canonical proof options (the proof
/// without its signature members, under `proof_context`) followed by SHA-256 of the canonical
/// document without its `proof`, as `jsonld-signatures` and `ld-signatures-java` compute it.
/// Also returns the document's dataset, for coverage checks ([`Signed`]).
pub fn proof_verify_data(
    doc: &Map<String, Value>,
    proof: &Map<String, Value>,
    proof_context: &Value,
) -> Result<(Vec<u8>, Signed), LdError> {
    let mut options = Map::new();
    options.insert("@context".into(), proof_context.clone());
    for (k, v) in proof {
        if !SIGNATURE_MEMBERS.contains(&k.as_str()) && k != "@context" {
            options.insert(k.clone(), v.clone());
        }
    }
    let mut unsigned = doc.clone();
    unsigned.remove("proof");
    let document_quads = to_quads(&Value::Object(unsigned))?;
    let document = c14n::canonicalize(&document_quads)?;
    let options = canonical_nquads(&Value::Object(options))?;
    let mut data = ring::digest::digest(&ring::digest::SHA256, options.as_bytes())
        .as_ref()
        .to_vec();
    data.extend_from_slice(
        ring::digest::digest(&ring::digest::SHA256, document.as_bytes()).as_ref(),
    );
    Ok((data, Signed(Arc::new(document_quads))))
}

/// The dataset a proof covered: what a verifier may rely on. JSON members that the contexts do
/// not map vanish in the RDF conversion and are **not** signed; callers check that what they
/// read from the JSON is in here.
#[derive(Debug, Clone)]
pub struct Signed(Arc<Vec<Quad>>);

impl Signed {
    /// Whether the dataset states `predicate` of the node `subject` (an IRI, or any node when
    /// None) with a JSON literal equal to `value` (compared as JSON values, so member order
    /// and number spelling do not matter).
    pub fn states_json(&self, subject: Option<&str>, predicate: &str, value: &Value) -> bool {
        self.0.iter().any(|q| {
            q.predicate == predicate
                && subject.is_none_or(|s| q.subject == Term::Iri(s.to_owned()))
                && matches!(&q.object, Term::Literal { value: v, datatype, .. }
                    if datatype == RDF_JSON
                        && serde_json::from_str::<Value>(v).is_ok_and(|parsed| &parsed == value))
        })
    }

    /// The one node of RDF type `class` (None when there is none or more than one).
    pub fn node_of_type(&self, class: &str) -> Option<&Term> {
        let mut found = self
            .0
            .iter()
            .filter(|q| q.predicate == RDF_TYPE && matches!(&q.object, Term::Iri(c) if c == class));
        let first = found.next()?;
        found.next().is_none().then_some(&first.subject)
    }

    /// Whether the dataset types `node` as `class` (`rdf:type`).
    pub fn node_is_a(&self, node: &Term, class: &str) -> bool {
        self.0.iter().any(|q| {
            &q.subject == node
                && q.predicate == RDF_TYPE
                && matches!(&q.object, Term::Iri(c) if c == class)
        })
    }

    /// The objects of `subject`'s `predicate` statements that are nodes (IRIs or blank nodes).
    pub fn nodes(&self, subject: &Term, predicate: &str) -> Vec<&Term> {
        self.0
            .iter()
            .filter(|q| {
                &q.subject == subject
                    && q.predicate == predicate
                    && !matches!(q.object, Term::Literal { .. })
            })
            .map(|q| &q.object)
            .collect()
    }

    /// Whether the dataset states `predicate` of the node `subject` with a literal whose
    /// lexical form is `value`.
    pub fn node_states(&self, subject: &Term, predicate: &str, value: &str) -> bool {
        self.0.iter().any(|q| {
            &q.subject == subject
                && q.predicate == predicate
                && matches!(&q.object, Term::Literal { value: v, .. } if v == value)
        })
    }

    /// Whether the dataset states `predicate` of `subject` with a literal whose lexical form
    /// is `value`.
    pub fn states_literal(&self, subject: Option<&str>, predicate: &str, value: &str) -> bool {
        self.0.iter().any(|q| {
            q.predicate == predicate
                && subject.is_none_or(|s| q.subject == Term::Iri(s.to_owned()))
                && matches!(&q.object, Term::Literal { value: v, .. } if v == value)
        })
    }
}

/// `rdf:type`.
pub const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

/// The datatype of JSON literals.
pub const RDF_JSON: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON";
