//! The CertLogic validator: every reason an expression is not valid CertLogic, found without
//! evaluating it (the messages of the specification's validation suite, where it has them).

use serde_json::Value;

use super::{INFIX, MAX_DEPTH, as_int, dates};

/// One reason an expression is not valid CertLogic: the offending sub-expression and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Issue {
    pub expr: Value,
    pub message: String,
}

/// Every issue of `expr`, outermost first; empty when it is valid CertLogic.
pub fn validate(expr: &Value) -> Vec<Issue> {
    let mut issues = Vec::new();
    check(expr, &mut issues, 0);
    issues
}

fn issue(out: &mut Vec<Issue>, expr: &Value, message: impl Into<String>) {
    out.push(Issue {
        expr: expr.clone(),
        message: message.into(),
    });
}

/// A `var` path: `""`, or fragments of letters, digits, `_` and `-` separated by single dots.
fn valid_path(path: &str) -> bool {
    path.is_empty()
        || path.split('.').all(|f| {
            !f.is_empty()
                && f.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
}

fn check(expr: &Value, out: &mut Vec<Issue>, depth: usize) {
    if depth > MAX_DEPTH {
        issue(
            out,
            &Value::Null,
            format!("expressions nest deeper than {MAX_DEPTH} levels"),
        );
        return;
    }
    let map = match expr {
        Value::Null => return issue(out, expr, "invalid CertLogic expression"),
        Value::Number(n) if as_int(expr).is_none() => {
            return issue(out, expr, format!("{n} is a non-integer number"));
        }
        Value::Number(_) | Value::String(_) | Value::Bool(_) => return,
        Value::Array(items) => {
            for item in items {
                check(item, out, depth + 1);
            }
            return;
        }
        Value::Object(map) => map,
    };
    let mut entries = map.iter();
    let (Some((op, values)), None) = (entries.next(), entries.next()) else {
        return issue(
            out,
            expr,
            format!(
                "expression object must have exactly one key, but it has {}",
                map.len()
            ),
        );
    };
    if op == "var" {
        match values.as_str() {
            None => issue(out, expr, "not of the form { \"var\": \"<path>\" }"),
            Some(path) if !valid_path(path) => issue(
                out,
                expr,
                format!(
                    "data access path doesn't have a valid format: {}",
                    path.chars().take(80).collect::<String>()
                ),
            ),
            Some(_) => {}
        }
        return;
    }
    let Some(args) = values.as_array() else {
        return issue(
            out,
            expr,
            "operation not of the form { \"<operator>\": [ <values...> ] }",
        );
    };
    let n = args.len();
    let arity_ok = match op.as_str() {
        "if" | "plusTime" | "reduce" => n == 3,
        "!" | "dccDateOfBirth" => n == 1,
        "extractFromUVCI" | "===" | "in" | "+" => n == 2,
        "and" => n >= 2,
        o if INFIX.contains(&o) => (2..=3).contains(&n),
        _ => {
            return issue(out, expr, format!("unrecognised operator: {op:?}"));
        }
    };
    if !arity_ok {
        issue(
            out,
            expr,
            format!("an operation with operator {op:?} has the wrong number of operands ({n})"),
        );
    }
    // Literal operands.
    match op.as_str() {
        "plusTime" => {
            if args.get(1).is_some_and(|a| as_int(a).is_none()) {
                issue(
                    out,
                    expr,
                    "the amount of plusTime must be an integer literal",
                );
            }
            if args
                .get(2)
                .is_some_and(|u| u.as_str().and_then(dates::Unit::parse).is_none())
            {
                issue(
                    out,
                    expr,
                    "the time unit of plusTime must be \"year\", \"month\", \"day\" or \"hour\"",
                );
            }
            if let Some(first) = args.first() {
                check(first, out, depth + 1);
            }
        }
        "extractFromUVCI" => {
            if args.get(1).is_some_and(|a| as_int(a).is_none()) {
                issue(
                    out,
                    expr,
                    "the index of extractFromUVCI must be an integer literal",
                );
            }
            if let Some(first) = args.first() {
                check(first, out, depth + 1);
            }
        }
        _ => {
            for arg in args {
                check(arg, out, depth + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn real_rule_paths_and_operations_are_valid() {
        let rule = json!({"if": [{"var": "payload.v.0"},
            {"and": [{"in": [{"var": "payload.v.0.mp"}, {"var": "external.valueSets.vaccines-covid-19-names"}]},
                     {"not-before": [{"plusTime": [{"var": "external.validationClock"}, 0, "day"]},
                                     {"plusTime": [{"var": "payload.v.0.dt"}, 14, "day"]}]}]},
            true]});
        assert_eq!(validate(&rule), vec![]);
        let bad = json!({"and": [{"plusTime": [{"var": "x"}, "1", "week"]}]});
        let messages: Vec<String> = validate(&bad).into_iter().map(|i| i.message).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
    }
}
