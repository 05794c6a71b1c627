//! RDF dataset canonicalisation, URDNA2015 (W3C RDF Dataset Canonicalization, the algorithm
//! `jsonld-signatures` and `ld-signatures-java` call "urdna2015"; RDFC-1.0 is its successor and
//! labels blank nodes identically), written from the specification.
//!
//! Input is a list of [`Quad`]s whose blank-node labels are arbitrary; output is the canonical
//! N-Quads document: every blank node relabelled `_:c14n<N>`, one quad per line, lines sorted by
//! code point, each ending in `\n`. Literals are escaped as RDFC-1.0's canonical N-Quads
//! (`\\ \" \n \r \t \b \f`, other control characters as `\u00XX`; URDNA2015 implementations
//! differ only on `\b`, `\f` and those, which trust documents never hold).
//!
//! **Bounded.** The N-degree hash explores permutations of blank nodes that share a hash, which
//! is exponential on crafted ("poison") graphs. Work is counted ([`MAX_WORK`] permutation steps
//! and recursive calls in all) and a graph that needs more is refused
//! ([`C14nError::TooComplex`]); so is one with more than [`MAX_QUADS`] quads. Real trust
//! documents need a handful of steps: their nodes carry IRIs, and blank nodes (proof, JWK-less
//! objects) are few and distinguishable by their first-degree hash.

use std::collections::{BTreeMap, HashMap};

use crate::util::sha256_hex;

/// At most this many quads are canonicalised.
pub const MAX_QUADS: usize = 200_000;
/// At most this many permutation steps and N-degree calls in all.
pub const MAX_WORK: usize = 100_000;

/// One RDF term.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Term {
    /// An IRI, without angle brackets.
    Iri(String),
    /// A blank node label, without `_:`.
    Blank(String),
    /// A literal; `datatype` is the full IRI (`xsd:string` for plain strings,
    /// `rdf:langString` when `language` is set).
    Literal {
        value: String,
        datatype: String,
        language: Option<String>,
    },
}

/// The graph of a quad.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Graph {
    Default,
    Named(Term),
}

/// One quad: subject, predicate IRI, object, graph.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Quad {
    pub subject: Term,
    pub predicate: String,
    pub object: Term,
    pub graph: Graph,
}

/// Why a dataset was not canonicalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum C14nError {
    #[error("the RDF dataset is too large to canonicalise (more than {MAX_QUADS} quads)")]
    TooLarge,
    #[error("the RDF dataset needs more than {MAX_WORK} canonicalisation steps")]
    TooComplex,
}

const XSD_STRING: &str = "http://www.w3.org/2001/XMLSchema#string";
const RDF_LANG_STRING: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString";

/// Canonical N-Quads of `quads` (duplicates collapse: a dataset is a set).
pub fn canonicalize(quads: &[Quad]) -> Result<String, C14nError> {
    if quads.len() > MAX_QUADS {
        return Err(C14nError::TooLarge);
    }
    // A dataset is a set: a quad stated twice (JSON-LD emits one per member, and two members
    // may map to one IRI with one value) must count once in every hash, not only in the output.
    let mut seen = std::collections::HashSet::with_capacity(quads.len());
    let quads: Vec<&Quad> = quads.iter().filter(|q| seen.insert(*q)).collect();
    let mut state = State::new(&quads);
    state.label()?;
    let mut lines: Vec<String> = quads
        .iter()
        .map(|q| {
            let mut line = String::new();
            write_quad(&mut line, q, &|b| {
                let id = state.canonical.get(b).unwrap_or(b);
                Some(id.to_owned())
            });
            line
        })
        .collect();
    lines.sort_unstable();
    lines.dedup();
    Ok(lines.concat())
}

/// Issues labels `<prefix><n>` in order, remembering the order of issue.
#[derive(Clone, Default)]
struct Issuer {
    prefix: &'static str,
    order: Vec<String>,
    issued: HashMap<String, String>,
}

impl Issuer {
    fn new(prefix: &'static str) -> Self {
        Issuer {
            prefix,
            ..Issuer::default()
        }
    }

    fn issue(&mut self, existing: &str) -> String {
        if let Some(id) = self.issued.get(existing) {
            return id.clone();
        }
        let id = format!("{}{}", self.prefix, self.order.len());
        self.order.push(existing.to_owned());
        self.issued.insert(existing.to_owned(), id.clone());
        id
    }

    fn get(&self, existing: &str) -> Option<&str> {
        self.issued.get(existing).map(String::as_str)
    }
}

struct State<'a> {
    /// Blank node → the quads that mention it.
    mentions: HashMap<&'a str, Vec<&'a Quad>>,
    canonical: Issuer,
    work: usize,
}

fn blank(term: &Term) -> Option<&str> {
    match term {
        Term::Blank(b) => Some(b),
        _ => None,
    }
}

/// The blank nodes of a quad with their position letter (`s`, `o`, `g`).
fn blanks(q: &Quad) -> impl Iterator<Item = (char, &str)> {
    let graph = match &q.graph {
        Graph::Named(t) => blank(t),
        Graph::Default => None,
    };
    [
        ('s', blank(&q.subject)),
        ('o', blank(&q.object)),
        ('g', graph),
    ]
    .into_iter()
    .filter_map(|(p, b)| b.map(|b| (p, b)))
}

impl<'a> State<'a> {
    fn new(quads: &[&'a Quad]) -> Self {
        let mut mentions: HashMap<&str, Vec<&Quad>> = HashMap::new();
        for &q in quads {
            for (_, b) in blanks(q) {
                let list = mentions.entry(b).or_default();
                // A quad naming the same blank node twice is listed once.
                if !list.last().is_some_and(|last| std::ptr::eq(*last, q)) {
                    list.push(q);
                }
            }
        }
        State {
            mentions,
            canonical: Issuer::new("c14n"),
            work: 0,
        }
    }

    fn spend(&mut self) -> Result<(), C14nError> {
        self.work += 1;
        if self.work > MAX_WORK {
            return Err(C14nError::TooComplex);
        }
        Ok(())
    }

    /// Steps 1–6 of the algorithm: fills `self.canonical`.
    fn label(&mut self) -> Result<(), C14nError> {
        let mut by_hash: BTreeMap<String, Vec<&'a str>> = BTreeMap::new();
        let mut nodes: Vec<&'a str> = self.mentions.keys().copied().collect();
        nodes.sort_unstable();
        for b in nodes {
            by_hash.entry(self.first_degree(b)).or_default().push(b);
        }
        let mut shared = Vec::new();
        for (_, list) in by_hash {
            match list.as_slice() {
                [only] => {
                    self.canonical.issue(only);
                }
                _ => shared.push(list),
            }
        }
        for list in shared {
            let mut results = Vec::new();
            for b in list {
                if self.canonical.get(b).is_some() {
                    continue;
                }
                let mut temporary = Issuer::new("b");
                temporary.issue(b);
                results.push(self.n_degree(b, temporary)?);
            }
            results.sort_by(|a, b| a.0.cmp(&b.0));
            for (_, issuer) in results {
                for existing in &issuer.order {
                    self.canonical.issue(existing);
                }
            }
        }
        Ok(())
    }

    /// Hash First Degree Quads.
    fn first_degree(&self, reference: &str) -> String {
        let mut lines: Vec<String> = self
            .mentions
            .get(reference)
            .into_iter()
            .flatten()
            .map(|q| {
                let mut line = String::new();
                write_quad(&mut line, q, &|b| {
                    Some(if b == reference { "a" } else { "z" }.to_owned())
                });
                line
            })
            .collect();
        lines.sort_unstable();
        sha256_hex(lines.concat().as_bytes())
    }

    /// Hash Related Blank Node.
    fn related_hash(&self, related: &str, q: &Quad, issuer: &Issuer, position: char) -> String {
        let mut input = String::new();
        input.push(position);
        if position != 'g' {
            input.push('<');
            input.push_str(&q.predicate);
            input.push('>');
        }
        if let Some(id) = self.canonical.get(related).or_else(|| issuer.get(related)) {
            input.push_str("_:");
            input.push_str(id);
        } else {
            input.push_str(&self.first_degree(related));
        }
        sha256_hex(input.as_bytes())
    }

    /// Hash N-Degree Quads: the hash and the issuer that labelled the reachable blank nodes.
    fn n_degree(&mut self, reference: &str, issuer: Issuer) -> Result<(String, Issuer), C14nError> {
        self.spend()?;
        let mut issuer = issuer;
        let mut related_by_hash: BTreeMap<String, Vec<&'a str>> = BTreeMap::new();
        let quads = self.mentions.get(reference).cloned().unwrap_or_default();
        for q in quads {
            for (position, related) in blanks(q) {
                if related == reference {
                    continue;
                }
                let hash = self.related_hash(related, q, &issuer, position);
                related_by_hash.entry(hash).or_default().push(related);
            }
        }
        let mut data = String::new();
        for (hash, related) in related_by_hash {
            data.push_str(&hash);
            let mut chosen_path = String::new();
            let mut chosen_issuer: Option<Issuer> = None;
            let mut order: Vec<usize> = (0..related.len()).collect();
            loop {
                self.spend()?;
                let permutation = order.iter().filter_map(|&i| related.get(i).copied());
                if let Some((path, copy)) = self.try_path(permutation, &issuer, &chosen_path)?
                    && (chosen_issuer.is_none() || path < chosen_path)
                {
                    chosen_path = path;
                    chosen_issuer = Some(copy);
                }
                if !next_permutation(&mut order) {
                    break;
                }
            }
            data.push_str(&chosen_path);
            if let Some(chosen) = chosen_issuer {
                issuer = chosen;
            }
        }
        Ok((sha256_hex(data.as_bytes()), issuer))
    }

    /// The path of one permutation (step 5.4 of Hash N-Degree Quads), or None when it can no
    /// longer beat `chosen` (the spec's "skip to the next permutation").
    fn try_path(
        &mut self,
        permutation: impl Iterator<Item = &'a str>,
        issuer: &Issuer,
        chosen: &str,
    ) -> Result<Option<(String, Issuer)>, C14nError> {
        let loses = |path: &str| !chosen.is_empty() && path.len() >= chosen.len() && path > chosen;
        let mut copy = issuer.clone();
        let mut path = String::new();
        let mut recursion = Vec::new();
        for related in permutation {
            if let Some(id) = self.canonical.get(related) {
                path.push_str("_:");
                path.push_str(id);
            } else {
                if copy.get(related).is_none() {
                    recursion.push(related);
                }
                path.push_str("_:");
                path.push_str(&copy.issue(related));
            }
            if loses(&path) {
                return Ok(None);
            }
        }
        for related in recursion {
            let (hash, next) = self.n_degree(related, copy.clone())?;
            copy = next;
            path.push_str("_:");
            path.push_str(&copy.issue(related));
            path.push('<');
            path.push_str(&hash);
            path.push('>');
            if loses(&path) {
                return Ok(None);
            }
        }
        Ok(Some((path, copy)))
    }
}

/// Advances `order` to the next permutation in lexicographic order; false after the last.
fn next_permutation(order: &mut [usize]) -> bool {
    let n = order.len();
    let Some(i) = (1..n).rev().find(|&i| order.get(i - 1) < order.get(i)) else {
        return false;
    };
    let pivot = order.get(i - 1).copied().unwrap_or_default();
    let Some(j) = (i..n)
        .rev()
        .find(|&j| order.get(j).is_some_and(|&v| v > pivot))
    else {
        return false;
    };
    order.swap(i - 1, j);
    if let Some(tail) = order.get_mut(i..) {
        tail.reverse();
    }
    true
}

/// Writes one quad as an N-Quads line, blank nodes labelled by `label` (None keeps the label).
fn write_quad(out: &mut String, q: &Quad, label: &dyn Fn(&str) -> Option<String>) {
    write_term(out, &q.subject, label);
    out.push_str(" <");
    out.push_str(&q.predicate);
    out.push_str("> ");
    write_term(out, &q.object, label);
    if let Graph::Named(g) = &q.graph {
        out.push(' ');
        write_term(out, g, label);
    }
    out.push_str(" .\n");
}

fn write_term(out: &mut String, term: &Term, label: &dyn Fn(&str) -> Option<String>) {
    match term {
        Term::Iri(iri) => {
            out.push('<');
            out.push_str(iri);
            out.push('>');
        }
        Term::Blank(b) => {
            out.push_str("_:");
            out.push_str(&label(b).unwrap_or_else(|| b.clone()));
        }
        Term::Literal {
            value,
            datatype,
            language,
        } => {
            out.push('"');
            for c in value.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{c}' => out.push_str("\\f"),
                    '\u{0}'..='\u{1f}' | '\u{7f}' => {
                        out.push_str(&format!("\\u{:04X}", u32::from(c)));
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
            if let Some(lang) = language {
                out.push('@');
                out.push_str(lang);
            } else if datatype != XSD_STRING && datatype != RDF_LANG_STRING {
                out.push_str("^^<");
                out.push_str(datatype);
                out.push('>');
            }
        }
    }
}

/// Parses N-Quads as [`canonicalize`] writes them (test vectors are read with it); None on a
/// line it cannot read.
pub fn parse_nquads(text: &str) -> Option<Vec<Quad>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> Option<Quad> {
    let rest = line.strip_suffix('.')?.trim_end();
    let (subject, rest) = parse_term(rest)?;
    let (predicate, rest) = parse_term(rest.trim_start())?;
    let (object, rest) = parse_term(rest.trim_start())?;
    let rest = rest.trim();
    let graph = if rest.is_empty() {
        Graph::Default
    } else {
        let (g, tail) = parse_term(rest)?;
        if !tail.trim().is_empty() {
            return None;
        }
        Graph::Named(g)
    };
    let Term::Iri(predicate) = predicate else {
        return None;
    };
    Some(Quad {
        subject,
        predicate,
        object,
        graph,
    })
}

/// Resolves `\uXXXX` and `\UXXXXXXXX` in an IRI.
fn unescape_iri(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let len = match chars.next()? {
            'u' => 4,
            'U' => 8,
            _ => return None,
        };
        let hex: String = chars.by_ref().take(len).collect();
        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
    }
    Some(out)
}

fn parse_term(s: &str) -> Option<(Term, &str)> {
    if let Some(rest) = s.strip_prefix('<') {
        let end = rest.find('>')?;
        return Some((
            Term::Iri(unescape_iri(rest.get(..end)?)?),
            rest.get(end + 1..)?,
        ));
    }
    if let Some(rest) = s.strip_prefix("_:") {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        return Some((Term::Blank(rest.get(..end)?.to_owned()), rest.get(end..)?));
    }
    let rest = s.strip_prefix('"')?;
    let mut value = String::new();
    let mut chars = rest.char_indices();
    let end = loop {
        let (i, c) = chars.next()?;
        match c {
            '"' => break i,
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'n' => value.push('\n'),
                    'r' => value.push('\r'),
                    't' => value.push('\t'),
                    'b' => value.push('\u{8}'),
                    'f' => value.push('\u{c}'),
                    'u' | 'U' => {
                        let len = if e == 'u' { 4 } else { 8 };
                        let hex: String =
                            (0..len).filter_map(|_| chars.next()).map(|x| x.1).collect();
                        value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    other => value.push(other),
                }
            }
            c => value.push(c),
        }
    };
    let rest = rest.get(end + 1..)?;
    if let Some(tail) = rest.strip_prefix("^^<") {
        let close = tail.find('>')?;
        let datatype = unescape_iri(tail.get(..close)?)?;
        return Some((
            Term::Literal {
                value,
                datatype,
                language: None,
            },
            tail.get(close + 1..)?,
        ));
    }
    if let Some(tail) = rest.strip_prefix('@') {
        let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
        return Some((
            Term::Literal {
                value,
                datatype: RDF_LANG_STRING.to_owned(),
                language: Some(tail.get(..end)?.to_owned()),
            },
            tail.get(end..)?,
        ));
    }
    Some((
        Term::Literal {
            value,
            datatype: XSD_STRING.to_owned(),
            language: None,
        },
        rest,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quad_stated_twice_counts_once_in_the_labels() {
        // Two blank nodes told apart by their first-degree hashes; b2 states one quad twice.
        let text =
            "_:b1 <http://e/p> \"x\" .\n_:b2 <http://e/p> \"y\" .\n_:b2 <http://e/q> \"z\" .\n";
        let once = parse_nquads(text).unwrap();
        let mut twice = once.clone();
        twice.push(once[1].clone());
        assert_eq!(canonicalize(&twice).unwrap(), canonicalize(&once).unwrap());
    }
}
