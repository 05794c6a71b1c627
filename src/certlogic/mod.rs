//! CertLogic (specification 1.3.3): the restricted JsonLogic the EU business rules are written
//! in. [`evaluate`] runs an expression on a data context; [`validate`] lists why an expression
//! is not valid CertLogic. Pure (no I/O, no clock), bounded (nesting depth, `reduce` lengths
//! are those of the data), and every failure is a typed [`EvalError`].
//!
//! Semantics follow SPEC.md (copied from the specification with its conformance suites to
//! `tests/data/certlogic/`), with the reference implementation's reading where the text is
//! loose: `and` is lazy and returns the first falsy operand or the last one; `===` and `in`
//! compare strings, integers, booleans and `null` by value (other values are never equal);
//! `plusTime`'s amount and unit and `extractFromUVCI`'s index are literals; `var` on a
//! non-drillable value is `null`; dates are values of their own (neither truthy nor falsy, and
//! rendered as `YYYY-MM-DDThh:mm:ss.sssZ` when a result is turned into JSON).

pub mod dates;
mod validate;

use serde_json::{Map, Value};
use time::OffsetDateTime;

pub use validate::{Issue, validate};

/// Deepest nesting of expressions evaluated (deeper is [`EvalError::TooDeep`]).
pub const MAX_DEPTH: usize = 64;

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("invalid CertLogic expression: {0}")]
    InvalidExpression(String),
    #[error("expression object must have exactly one key, but it has {0}")]
    NotOneKey(usize),
    #[error("operation not of the form {{ \"<operator>\": [ <values...> ] }}")]
    NotAnOperation,
    #[error("not of the form {{ \"var\": \"<path>\" }}")]
    BadVar,
    #[error("unrecognised operator: {0:?}")]
    UnknownOperator(String),
    #[error("an operation with operator {op:?} must have {expected} operands")]
    Arity { op: String, expected: &'static str },
    #[error("if-guard evaluates to something neither truthy, nor falsy")]
    IfGuard,
    #[error("operand of ! evaluates to something neither truthy, nor falsy")]
    NotOperand,
    #[error("all operands of an \"and\" operation must be either truthy or falsy")]
    AndOperand,
    #[error("right-hand side of an \"in\" operation must be an array")]
    InNotArray,
    #[error("operands of {0:?} must be integers")]
    NotIntegers(String),
    #[error("all operands of a date-time comparison must be date-times")]
    NotDateTimes,
    #[error("the amount of plusTime must be an integer literal")]
    PlusTimeAmount,
    #[error("the time unit of plusTime must be \"year\", \"month\", \"day\" or \"hour\"")]
    PlusTimeUnit,
    #[error("the date-time operand of plusTime must be a string")]
    PlusTimeOperand,
    #[error("not a date(-time) CertLogic accepts: {0:?}")]
    BadDateTime(String),
    #[error("date-time arithmetic out of range")]
    DateOutOfRange,
    #[error("the operand of reduce must be an array or null")]
    ReduceOperand,
    #[error("the operand of extractFromUVCI must be a string or null")]
    UvciOperand,
    #[error("the index of extractFromUVCI must be an integer literal")]
    UvciIndex,
    #[error("the operand of dccDateOfBirth must be a string")]
    DobOperand,
    #[error("expressions nest deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// A value during evaluation: JSON borrowed from the data context, JSON made by an operation,
/// a date-time, an evaluated array, or the data context of a `reduce` lambda.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    Ref(&'a Value),
    Owned(Value),
    Date(OffsetDateTime),
    Array(Vec<Val<'a>>),
    Object(Vec<(&'static str, Val<'a>)>),
}

const NULL: Val<'static> = Val::Owned(Value::Null);

impl<'a> Val<'a> {
    /// The value as JSON (date-times as ISO 8601 strings with milliseconds).
    pub fn to_json(&self) -> Value {
        match self {
            Val::Ref(v) => (*v).clone(),
            Val::Owned(v) => v.clone(),
            Val::Date(d) => Value::String(dates::format(*d)),
            Val::Array(items) => Value::Array(items.iter().map(Val::to_json).collect()),
            Val::Object(pairs) => Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.to_json()))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }

    fn json(&self) -> Option<&Value> {
        match self {
            Val::Ref(v) => Some(v),
            Val::Owned(v) => Some(v),
            _ => None,
        }
    }

    /// `Some(true)` truthy, `Some(false)` falsy, `None` neither (date-times, non-integers).
    pub fn truthiness(&self) -> Option<bool> {
        match self {
            Val::Date(_) => None,
            Val::Array(items) => Some(!items.is_empty()),
            Val::Object(pairs) => Some(!pairs.is_empty()),
            Val::Ref(v) => json_truthiness(v),
            Val::Owned(v) => json_truthiness(v),
        }
    }

    fn int(&self) -> Option<i64> {
        self.json().and_then(as_int)
    }

    fn is_null(&self) -> bool {
        self.json().is_some_and(Value::is_null)
    }

    fn str(&self) -> Option<&str> {
        self.json().and_then(Value::as_str)
    }

    /// `===`: strings, integers, booleans and null by value.
    fn strict_eq(&self, other: &Val<'_>) -> bool {
        match (self.json(), other.json()) {
            (Some(a), Some(b)) => match (a, b) {
                (Value::Number(_), Value::Number(_)) => {
                    as_int(a).is_some() && as_int(a) == as_int(b)
                }
                (Value::String(x), Value::String(y)) => x == y,
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Null, Value::Null) => true,
                _ => false,
            },
            _ => false,
        }
    }

    /// `var` one step down: object keys, array indices (a fragment read as an integer).
    fn drill(&self, fragment: &str) -> Val<'a> {
        let index = fragment.parse::<usize>().ok();
        match self {
            Val::Ref(v) => drill_json(v, fragment, index).map_or(NULL, Val::Ref),
            Val::Owned(v) => drill_json(v, fragment, index).map_or(NULL, |v| Val::Owned(v.clone())),
            Val::Array(items) => index.and_then(|i| items.get(i)).cloned().unwrap_or(NULL),
            Val::Object(pairs) => pairs
                .iter()
                .find(|(k, _)| *k == fragment)
                .map_or(NULL, |(_, v)| v.clone()),
            Val::Date(_) => NULL,
        }
    }
}

fn drill_json<'v>(v: &'v Value, fragment: &str, index: Option<usize>) -> Option<&'v Value> {
    let found = match v {
        Value::Object(map) => map.get(fragment),
        Value::Array(items) => index.and_then(|i| items.get(i)),
        _ => None,
    };
    found.filter(|v| !v.is_null())
}

fn as_int(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    (f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15).then_some(f as i64)
}

fn json_truthiness(v: &Value) -> Option<bool> {
    match v {
        Value::Null => Some(false),
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(!s.is_empty()),
        Value::Array(a) => Some(!a.is_empty()),
        Value::Object(o) => Some(!o.is_empty()),
        Value::Number(_) => as_int(v).map(|i| i != 0),
    }
}

/// Evaluates `expr` on the data context `data`.
pub fn evaluate<'a>(expr: &Value, data: &'a Value) -> Result<Val<'a>, EvalError> {
    eval(expr, &Val::Ref(data), 0)
}

/// [`evaluate`] with the result as JSON.
pub fn evaluate_json(expr: &Value, data: &Value) -> Result<Value, EvalError> {
    evaluate(expr, data).map(|v| v.to_json())
}

const INFIX: [&str; 12] = [
    "===",
    "and",
    "<",
    ">",
    "<=",
    ">=",
    "in",
    "+",
    "after",
    "before",
    "not-after",
    "not-before",
];

fn eval<'a>(expr: &Value, data: &Val<'a>, depth: usize) -> Result<Val<'a>, EvalError> {
    if depth > MAX_DEPTH {
        return Err(EvalError::TooDeep);
    }
    let map = match expr {
        Value::String(_) | Value::Bool(_) => return Ok(Val::Owned(expr.clone())),
        Value::Number(_) if as_int(expr).is_some() => return Ok(Val::Owned(expr.clone())),
        Value::Array(items) => {
            return items
                .iter()
                .map(|i| eval(i, data, depth + 1))
                .collect::<Result<Vec<_>, _>>()
                .map(Val::Array);
        }
        Value::Object(map) => map,
        _ => return Err(EvalError::InvalidExpression(expr.to_string())),
    };
    if map.len() != 1 {
        return Err(EvalError::NotOneKey(map.len()));
    }
    let Some((op, operands)) = map.iter().next() else {
        return Err(EvalError::NotOneKey(0));
    };
    if op == "var" {
        return var(operands, data);
    }
    let args = match operands {
        Value::Array(args) if !args.is_empty() => args.as_slice(),
        _ => return Err(EvalError::NotAnOperation),
    };
    let next = depth + 1;
    match op.as_str() {
        "if" => {
            let [guard, then, otherwise] = args else {
                return Err(arity(op, "3"));
            };
            match eval(guard, data, next)?.truthiness() {
                Some(true) => eval(then, data, next),
                Some(false) => eval(otherwise, data, next),
                None => Err(EvalError::IfGuard),
            }
        }
        "!" => {
            let [operand] = args else {
                return Err(arity(op, "1"));
            };
            match eval(operand, data, next)?.truthiness() {
                Some(t) => Ok(Val::Owned(Value::Bool(!t))),
                None => Err(EvalError::NotOperand),
            }
        }
        _ if INFIX.contains(&op.as_str()) => infix(op, args, data, next),
        "plusTime" => {
            let [operand, amount, unit] = args else {
                return Err(arity(op, "3"));
            };
            let amount = as_int(amount).ok_or(EvalError::PlusTimeAmount)?;
            let unit = unit
                .as_str()
                .and_then(dates::Unit::parse)
                .ok_or(EvalError::PlusTimeUnit)?;
            let value = eval(operand, data, next)?;
            let text = value.str().ok_or(EvalError::PlusTimeOperand)?;
            let at = dates::parse(text).ok_or_else(|| bad_date(text))?;
            dates::plus(at, amount, unit)
                .map(Val::Date)
                .ok_or(EvalError::DateOutOfRange)
        }
        "reduce" => {
            let [operand, lambda, initial] = args else {
                return Err(arity(op, "3"));
            };
            let items = eval(operand, data, next)?;
            let mut accumulator = eval(initial, data, next)?;
            let items: Vec<Val<'a>> = match items {
                v if v.is_null() => return Ok(accumulator),
                Val::Array(items) => items,
                Val::Ref(Value::Array(items)) => items.iter().map(Val::Ref).collect(),
                Val::Owned(Value::Array(items)) => items.into_iter().map(Val::Owned).collect(),
                _ => return Err(EvalError::ReduceOperand),
            };
            for current in items {
                let ctx = Val::Object(vec![("accumulator", accumulator), ("current", current)]);
                accumulator = eval(lambda, &ctx, next)?;
            }
            Ok(accumulator)
        }
        "extractFromUVCI" => {
            let [operand, index] = args else {
                return Err(arity(op, "2"));
            };
            let index = as_int(index).ok_or(EvalError::UvciIndex)?;
            let value = eval(operand, data, next)?;
            if value.is_null() {
                return Ok(NULL);
            }
            let uci = value.str().ok_or(EvalError::UvciOperand)?;
            Ok(extract_from_uvci(uci, index).map_or(NULL, |s| Val::Owned(Value::String(s.into()))))
        }
        "dccDateOfBirth" => {
            let [operand] = args else {
                return Err(arity(op, "1"));
            };
            let value = eval(operand, data, next)?;
            let text = value.str().ok_or(EvalError::DobOperand)?;
            date_of_birth(text)
                .map(Val::Date)
                .ok_or_else(|| bad_date(text))
        }
        _ => Err(EvalError::UnknownOperator(op.clone())),
    }
}

fn arity(op: &str, expected: &'static str) -> EvalError {
    EvalError::Arity {
        op: op.to_owned(),
        expected,
    }
}

/// At most 40 characters of an offending date string are echoed.
fn bad_date(text: &str) -> EvalError {
    EvalError::BadDateTime(text.chars().take(40).collect())
}

/// A DCC `dob`: `YYYY`, `YYYY-MM`, `YYYY-MM-DD` (older schemas also allowed a time part,
/// which is ignored).
fn date_of_birth(text: &str) -> Option<OffsetDateTime> {
    let date = text.split_once('T').map_or(text, |(d, _)| d);
    dates::date_of_birth(date)
}

fn var<'a>(operand: &Value, data: &Val<'a>) -> Result<Val<'a>, EvalError> {
    let path = operand.as_str().ok_or(EvalError::BadVar)?;
    if path.is_empty() {
        return Ok(data.clone());
    }
    let mut at = data.clone();
    for fragment in path.split('.') {
        if at.is_null() {
            return Ok(NULL);
        }
        at = at.drill(fragment);
    }
    Ok(at)
}

/// Fragment `index` of a UCI split on `/`, `#` and `:`, after an optional `URN:UVCI:`.
pub fn extract_from_uvci(uci: &str, index: i64) -> Option<&str> {
    let index = usize::try_from(index).ok()?;
    let rest = uci.strip_prefix("URN:UVCI:").unwrap_or(uci);
    rest.split(['/', '#', ':']).nth(index)
}

fn infix<'a>(op: &str, args: &[Value], data: &Val<'a>, depth: usize) -> Result<Val<'a>, EvalError> {
    let comparison = matches!(
        op,
        "<" | ">" | "<=" | ">=" | "after" | "before" | "not-after" | "not-before"
    );
    match op {
        "and" if args.len() < 2 => return Err(arity(op, "at least 2")),
        _ if comparison && !(2..=3).contains(&args.len()) => return Err(arity(op, "2 or 3")),
        "===" | "in" | "+" if args.len() != 2 => return Err(arity(op, "2")),
        _ => {}
    }
    if op == "and" {
        let Some((first, rest)) = args.split_first() else {
            return Err(arity(op, "at least 2"));
        };
        let mut last = eval(first, data, depth)?;
        for arg in rest {
            match last.truthiness() {
                Some(false) => return Ok(last),
                Some(true) => last = eval(arg, data, depth)?,
                None => return Err(EvalError::AndOperand),
            }
        }
        return Ok(last);
    }
    let values = args
        .iter()
        .map(|a| eval(a, data, depth))
        .collect::<Result<Vec<_>, _>>()?;
    let bool_val = |b: bool| Val::Owned(Value::Bool(b));
    let pair = || match values.as_slice() {
        [a, b] => Ok((a, b)),
        _ => Err(arity(op, "2")),
    };
    match op {
        "===" => {
            let (a, b) = pair()?;
            Ok(bool_val(a.strict_eq(b)))
        }
        "in" => {
            let (needle, haystack) = pair()?;
            let haystack: Vec<Val<'_>> = match haystack {
                Val::Array(items) => items.clone(),
                Val::Ref(Value::Array(items)) => items.iter().map(Val::Ref).collect(),
                Val::Owned(Value::Array(items)) => items.iter().map(Val::Ref).collect(),
                _ => return Err(EvalError::InNotArray),
            };
            Ok(bool_val(haystack.iter().any(|h| needle.strict_eq(h))))
        }
        "+" => {
            let (a, b) = pair()?;
            let (Some(a), Some(b)) = (a.int(), b.int()) else {
                return Err(EvalError::NotIntegers(op.to_owned()));
            };
            let sum = a
                .checked_add(b)
                .ok_or_else(|| EvalError::NotIntegers(op.to_owned()))?;
            Ok(Val::Owned(Value::from(sum)))
        }
        "<" | ">" | "<=" | ">=" => {
            let ints = values
                .iter()
                .map(Val::int)
                .collect::<Option<Vec<i64>>>()
                .ok_or_else(|| EvalError::NotIntegers(op.to_owned()))?;
            Ok(bool_val(compare(op, &ints)))
        }
        _ => {
            let instants = values
                .iter()
                .map(|v| match v {
                    Val::Date(d) => Some(*d),
                    _ => None,
                })
                .collect::<Option<Vec<OffsetDateTime>>>()
                .ok_or(EvalError::NotDateTimes)?;
            let as_int_op = match op {
                "after" => ">",
                "before" => "<",
                "not-after" => "<=",
                _ => ">=",
            };
            Ok(bool_val(compare(as_int_op, &instants)))
        }
    }
}

fn compare<T: PartialOrd>(op: &str, values: &[T]) -> bool {
    values.windows(2).all(|w| match (op, w) {
        ("<", [a, b]) => a < b,
        (">", [a, b]) => a > b,
        ("<=", [a, b]) => a <= b,
        (_, [a, b]) => a >= b,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_are_typed_and_bounded() {
        let data = json!({});
        assert_eq!(
            evaluate_json(&json!({"all": [1]}), &data),
            Err(EvalError::UnknownOperator("all".into()))
        );
        assert_eq!(
            evaluate_json(&json!({"if": [true, 1]}), &data),
            Err(arity("if", "3"))
        );
        let mut deep = json!(true);
        for _ in 0..200 {
            deep = json!({"!": [deep]});
        }
        assert_eq!(evaluate_json(&deep, &data), Err(EvalError::TooDeep));
        let long = "9".repeat(10_000);
        let err = evaluate_json(&json!({"plusTime": [long, 0, "day"]}), &data).unwrap_err();
        assert!(err.to_string().len() < 100, "{err}");
    }

    #[test]
    fn reduce_sees_accumulator_and_current_and_dates_survive_it() {
        let data = json!({"xs": ["2021-01-01", "2021-06-01", "2021-03-01"]});
        // The latest date of the list.
        let latest = json!({"reduce": [{"var": "xs"},
            {"if": [{"after": [{"plusTime": [{"var": "current"}, 0, "day"]}, {"var": "accumulator"}]},
                    {"plusTime": [{"var": "current"}, 0, "day"]}, {"var": "accumulator"}]},
            {"plusTime": ["2000-01-01", 0, "day"]}]});
        assert_eq!(
            evaluate_json(&latest, &data).unwrap(),
            json!("2021-06-01T00:00:00.000Z")
        );
        assert_eq!(extract_from_uvci("URN:UVCI:01:NL:ABC#x", 2), Some("ABC"));
        assert_eq!(extract_from_uvci("a::c/#/f", 5), Some("f"));
        assert_eq!(extract_from_uvci("a", 1), None);
    }
}
