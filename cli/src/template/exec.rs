//! Template execution: Go's `text/template` evaluation of pipelines, fields, variables
//! and function calls on [`Value`]s, with its errors
//! (`template: :1:2: executing "" at <.X>: map has no entry for key "X"`).

use std::rc::Rc;

use super::funcs::{self, FuncSet, Param};
use super::parse::{Arg, Command, Node, Pipe};
use super::value::{Map, Value};

/// An execution error already in Go's words.
pub(crate) type R<T> = Result<T, String>;

/// How a walk over a list ended: `{{break}}` and `{{continue}}` unwind to their range.
enum Flow {
    Normal,
    Break,
    Continue,
}

pub(crate) struct Exec<'a> {
    pub text: &'a str,
    pub funcs: FuncSet,
    /// `missingkey=error`: docker's raw inspect fallback turns missing keys into errors.
    pub missing_key_error: bool,
    vars: Vec<(String, Value)>,
    out: String,
    /// Where we are, for error messages: position and printed node.
    at: Option<(usize, String)>,
}

impl<'a> Exec<'a> {
    pub fn new(text: &'a str, funcs: FuncSet, missing_key_error: bool) -> Exec<'a> {
        Exec {
            text,
            funcs,
            missing_key_error,
            vars: Vec::new(),
            out: String::new(),
            at: None,
        }
    }

    /// Runs the template; on error, also returns what was written before it.
    pub fn run(mut self, nodes: &[Node], data: &Value) -> (String, R<()>) {
        self.vars.push(("$".into(), data.clone()));
        let r = self.walk(data, nodes).map(|_| ());
        (self.out, r)
    }

    fn at(&mut self, pos: usize, node: impl ToString) {
        self.at = Some((pos, node.to_string()));
    }

    /// Go's `state.errorf`: the location (`:line:byte-in-line`) and the node.
    pub fn error<T>(&self, msg: impl std::fmt::Display) -> R<T> {
        match &self.at {
            None => Err(format!("template: : {msg}")),
            Some((pos, node)) => {
                let before = &self.text[..(*pos).min(self.text.len())];
                let line = 1 + before.matches('\n').count();
                let col = match before.rfind('\n') {
                    Some(i) => pos - i - 1,
                    None => *pos,
                };
                Err(format!(
                    "template: :{line}:{col}: executing \"\" at <{node}>: {msg}"
                ))
            }
        }
    }

    fn walk(&mut self, dot: &Value, nodes: &[Node]) -> R<Flow> {
        for node in nodes {
            match node {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(pipe) => {
                    let v = self.eval_pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        let text = v.action_text();
                        if let Value::Method(_) = v {
                            self.at(pipe.pos, pipe);
                            return self
                                .error(format!("can't print {pipe} of type {}", v.type_name()));
                        }
                        self.out.push_str(&text);
                    }
                }
                Node::If(c) | Node::With(c) => {
                    let mark = self.vars.len();
                    let v = self.eval_pipeline(dot, &c.pipe)?;
                    let flow = if v.truth() {
                        let new_dot = if matches!(node, Node::With(_)) {
                            &v
                        } else {
                            dot
                        };
                        self.walk(new_dot, &c.list)?
                    } else if let Some(e) = &c.else_list {
                        self.walk(dot, e)?
                    } else {
                        Flow::Normal
                    };
                    self.vars.truncate(mark);
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Range(c) => {
                    let mark = self.vars.len();
                    self.walk_range(dot, c)?;
                    self.vars.truncate(mark);
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk_range(&mut self, dot: &Value, c: &super::parse::Control) -> R<()> {
        let v = self.eval_pipeline(dot, &c.pipe)?;
        let mark = self.vars.len();
        let decl = c.pipe.decl.len();
        let one = |this: &mut Self, index: Value, elem: Value| -> R<bool> {
            if decl > 0 {
                let n = this.vars.len();
                this.vars[n - 1].1 = elem.clone();
            }
            if decl > 1 {
                let n = this.vars.len();
                this.vars[n - 2].1 = index;
            }
            let flow = this.walk(&elem, &c.list)?;
            this.vars.truncate(mark);
            Ok(matches!(flow, Flow::Break))
        };
        let mut empty = true;
        match &v {
            Value::List(l) => {
                for (i, item) in l.items.iter().enumerate() {
                    empty = false;
                    if one(self, Value::int(i as i64), item.clone())? {
                        break;
                    }
                }
            }
            Value::Map(m) => {
                for (k, item) in &m.entries {
                    empty = false;
                    if one(self, Value::Str(k.as_str().into(), m.key_ty), item.clone())? {
                        break;
                    }
                }
            }
            Value::Int(n, _) => {
                if decl > 1 {
                    return self.error(format!(
                        "can't use {n} to iterate over more than one variable"
                    ));
                }
                for i in 0..*n {
                    empty = false;
                    if one(self, Value::int(i), Value::Int(i, "int"))? {
                        break;
                    }
                }
            }
            Value::Invalid => {}
            other => {
                return self.error(format!("range can't iterate over {}", other.to_go_string()));
            }
        }
        if empty && let Some(e) = &c.else_list {
            self.walk(dot, e)?;
        }
        Ok(())
    }

    pub fn eval_pipeline(&mut self, dot: &Value, pipe: &Pipe) -> R<Value> {
        self.at(pipe.pos, pipe);
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Value::Invalid);
        for name in &pipe.decl {
            if pipe.is_assign {
                match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    Some(slot) => slot.1 = value.clone(),
                    None => return self.error(format!("undefined variable: {name}")),
                }
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&mut self, args: &[Arg], fin: &Option<Value>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return self.error(format!("can't give argument to non-function {}", args[0]));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &Command, fin: Option<Value>) -> R<Value> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { pos, idents } => {
                self.at(*pos, first);
                return self.eval_field_chain(dot, dot.clone(), first, idents, &cmd.args, fin);
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, &cmd.args, fin),
            Arg::Ident(pos, name) => {
                self.at(*pos, first);
                return self.eval_function(dot, name, cmd, &cmd.args, fin);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable { .. } => return self.eval_variable(dot, first, &cmd.args, fin),
            _ => {}
        }
        self.at(first.pos(), first);
        self.not_a_function(&cmd.args, &fin)?;
        match first {
            Arg::Bool(_, b) => Ok(Value::Bool(*b)),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => self.error("nil is not a command"),
            Arg::Number(..) => self.ideal_constant(first),
            Arg::Str { text, .. } => Ok(Value::string(text.as_str())),
            _ => self.error(format!("can't evaluate command {first}")),
        }
    }

    fn ideal_constant(&mut self, arg: &Arg) -> R<Value> {
        let Arg::Number(pos, n) = arg else {
            return Ok(Value::Invalid);
        };
        self.at(*pos, arg);
        let t = &n.text;
        let hex_int = t.len() > 2
            && t.starts_with('0')
            && matches!(t.as_bytes()[1], b'x' | b'X')
            && !t.contains(['p', 'P']);
        if n.float.is_some()
            && !hex_int
            && !t.starts_with('\'')
            && t.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Value::Float(n.float.unwrap_or(0.0), "float64"));
        }
        if let Some(i) = n.int {
            return Ok(Value::int(i));
        }
        if n.uint.is_some() {
            return self.error(format!("{t} overflows int"));
        }
        Ok(Value::Invalid)
    }

    fn eval_chain(
        &mut self,
        dot: &Value,
        chain: &Arg,
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let Arg::Chain { pos, node, fields } = chain else {
            return Ok(Value::Invalid);
        };
        self.at(*pos, chain);
        if let Arg::Nil(_) = node.as_ref() {
            return self.error(format!("indirection through explicit nil in {chain}"));
        }
        // Go leaves the error position on the last node the pipeline evaluated.
        let receiver = self.eval_arg(dot, Param::Any, node)?;
        self.eval_field_chain(dot, receiver, chain, fields, args, fin)
    }

    fn eval_variable(
        &mut self,
        dot: &Value,
        var: &Arg,
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let Arg::Variable { pos, idents } = var else {
            return Ok(Value::Invalid);
        };
        self.at(*pos, var);
        let mut parts = idents[0].split('.');
        let name = parts.next().unwrap_or("$");
        let mut fields: Vec<String> = parts.map(str::to_owned).collect();
        fields.extend(idents[1..].iter().cloned());
        let Some(value) = self
            .vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
        else {
            return self.error(format!("undefined variable: {name}"));
        };
        if fields.is_empty() {
            self.not_a_function(args, &fin)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, var, &fields, args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Value,
        mut receiver: Value,
        node: &Arg,
        idents: &[String],
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let n = idents.len();
        for ident in &idents[..n - 1] {
            receiver = self.eval_field(dot, ident, node, &[], None, receiver)?;
        }
        self.eval_field(dot, &idents[n - 1], node, args, fin, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        node: &Arg,
        args: &[Arg],
        fin: Option<Value>,
        receiver: Value,
    ) -> R<Value> {
        let has_args = args.len() > 1 || fin.is_some();
        match &receiver {
            Value::Invalid => {
                if self.missing_key_error {
                    return self.error(format!("nil data; no entry for key \"{name}\""));
                }
                return Ok(Value::Invalid);
            }
            Value::NilPtr(ty, Some(def)) if def.has_field(name) => {
                return self.error(format!("nil pointer evaluating {ty}.{name}"));
            }
            Value::Struct(s) => {
                if let Some(v) = Value::struct_field(s, name) {
                    if let Value::Method(m) = v {
                        let m = Rc::clone(m);
                        return self.call_method(dot, &m, node, args, fin);
                    }
                    if has_args {
                        return self.error(format!(
                            "{name} has arguments but cannot be invoked as function"
                        ));
                    }
                    return Ok(v.clone());
                }
            }
            Value::Map(m) if m.key_ty == "string" => {
                if has_args {
                    return self.error(format!("{name} is not a method but has arguments"));
                }
                return match lookup(m, name) {
                    Some(v) => Ok(v.clone()),
                    None if self.missing_key_error => {
                        self.error(format!("map has no entry for key \"{name}\""))
                    }
                    None => Ok(Value::Invalid),
                };
            }
            _ => {}
        }
        // The raw fallback's values sit in `interface{}` slots, and Go names that type.
        let ty = if self.missing_key_error {
            "interface {}".to_owned()
        } else {
            receiver.type_name()
        };
        self.error(format!("can't evaluate field {name} in type {ty}"))
    }

    fn call_method(
        &mut self,
        dot: &Value,
        m: &super::value::Method,
        node: &Arg,
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let given = args.len().saturating_sub(1) + usize::from(fin.is_some());
        if given != m.arity {
            return self.error(format!(
                "wrong number of args for {}: want {} got {given}",
                m.name, m.arity
            ));
        }
        let mut strs = Vec::new();
        for a in args.iter().skip(1) {
            let v = self.eval_arg(dot, Param::Str, a)?;
            strs.push(v.as_plain_str().unwrap_or_default().to_owned());
        }
        if let Some(f) = fin {
            let v = self.validate(f, Param::Str)?;
            strs.push(v.as_plain_str().unwrap_or_default().to_owned());
        }
        self.at(node.pos(), node);
        Ok((m.call)(&strs))
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        name: &str,
        cmd: &dyn std::fmt::Display,
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let Some(f) = funcs::lookup(self.funcs, name) else {
            return self.error(format!("\"{name}\" is not a defined function"));
        };
        let cmd_pos = args[0].pos();
        let args = &args[1..];
        let num_in = args.len() + usize::from(fin.is_some());
        match f.variadic {
            Some(_) => {
                if num_in < f.params.len() {
                    return self.error(format!(
                        "wrong number of args for {name}: want at least {} got {}",
                        f.params.len(),
                        args.len()
                    ));
                }
            }
            None => {
                if num_in != f.params.len() {
                    return self.error(format!(
                        "wrong number of args for {name}: want {} got {num_in}",
                        f.params.len()
                    ));
                }
            }
        }
        // `and` and `or` evaluate their arguments only as far as needed.
        if name == "and" || name == "or" {
            let mut v = Value::Invalid;
            for a in args {
                v = self.eval_arg(dot, Param::Any, a)?;
                if v.truth() == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            let p = f
                .params
                .get(i)
                .copied()
                .or(f.variadic)
                .unwrap_or(Param::Any);
            argv.push(self.eval_arg(dot, p, a)?);
        }
        if let Some(v) = fin {
            let p = f
                .params
                .get(num_in - 1)
                .copied()
                .or(f.variadic)
                .unwrap_or(Param::Any);
            argv.push(self.validate(v, p)?);
        }
        match (f.call)(&argv) {
            Ok(v) => Ok(v),
            Err(e) => {
                self.at(cmd_pos, cmd);
                self.error(format!("error calling {name}: {e}"))
            }
        }
    }

    /// Go's `validateType`: may this value be passed where `p` is expected?
    fn validate(&mut self, v: Value, p: Param) -> R<Value> {
        match p {
            Param::Any => Ok(v),
            Param::Str => match &v {
                Value::Str(_, "string") => Ok(v),
                Value::Invalid => self.error("invalid value; expected string"),
                other => self.error(format!(
                    "wrong type for value; expected string; got {}",
                    other.type_name()
                )),
            },
            Param::Int => match &v {
                Value::Int(_, "int") => Ok(v),
                Value::Invalid => self.error("invalid value; expected int"),
                other => self.error(format!(
                    "wrong type for value; expected int; got {}",
                    other.type_name()
                )),
            },
            Param::Strings => match &v {
                Value::List(l) if l.strings => Ok(v),
                Value::Invalid => Ok(Value::strings(Vec::new())),
                other => self.error(format!(
                    "wrong type for value; expected []string; got {}",
                    other.type_name()
                )),
            },
        }
    }

    fn eval_arg(&mut self, dot: &Value, p: Param, arg: &Arg) -> R<Value> {
        self.at(arg.pos(), arg);
        let v = match arg {
            Arg::Dot(_) => dot.clone(),
            Arg::Nil(_) => {
                return match p {
                    Param::Any => Ok(Value::Invalid),
                    Param::Strings => Ok(Value::strings(Vec::new())),
                    Param::Str => self.error("cannot assign nil to string"),
                    Param::Int => self.error("cannot assign nil to int"),
                };
            }
            Arg::Field { idents, .. } => {
                let v = self.eval_field_chain(
                    dot,
                    dot.clone(),
                    arg,
                    idents,
                    std::slice::from_ref(arg),
                    None,
                )?;
                self.at(arg.pos(), arg);
                v
            }
            Arg::Variable { .. } => self.eval_variable(dot, arg, &[], None)?,
            Arg::Pipe(pipe) => self.eval_pipeline(dot, pipe)?,
            Arg::Ident(_, name) => {
                let cmd = Command {
                    args: vec![arg.clone()],
                };
                let v = self.eval_function(dot, name, arg, &cmd.args, None)?;
                self.at(arg.pos(), arg);
                v
            }
            Arg::Chain { .. } => self.eval_chain(dot, arg, &[], None)?,
            Arg::Bool(_, b) => {
                return match p {
                    Param::Any => Ok(Value::Bool(*b)),
                    _ => self.literal_mismatch(p, arg),
                };
            }
            Arg::Number(_, n) => {
                return match p {
                    Param::Any => self.ideal_constant(arg),
                    Param::Int => match n.int {
                        Some(i) => Ok(Value::int(i)),
                        None => self.error(format!("expected integer; found {arg}")),
                    },
                    _ => self.literal_mismatch(p, arg),
                };
            }
            Arg::Str { text, .. } => {
                return match p {
                    Param::Any | Param::Str => Ok(Value::string(text.as_str())),
                    _ => self.literal_mismatch(p, arg),
                };
            }
        };
        self.at(arg.pos(), arg);
        self.validate(v, p)
    }

    fn literal_mismatch<T>(&mut self, p: Param, arg: &Arg) -> R<T> {
        match p {
            Param::Str => self.error(format!("expected string; found {arg}")),
            Param::Int => self.error(format!("expected integer; found {arg}")),
            Param::Strings => self.error(format!("can't handle {arg} for arg of type []string")),
            Param::Any => self.error(format!("can't handle {arg}")),
        }
    }
}

fn lookup<'m>(m: &'m Map, key: &str) -> Option<&'m Value> {
    m.entries
        .binary_search_by(|(k, _)| k.as_str().cmp(key))
        .ok()
        .map(|i| &m.entries[i].1)
}
