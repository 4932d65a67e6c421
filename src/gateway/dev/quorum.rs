//! The completion rules of the gateway's confidential-relay handler (spec §5.4, the "dumb
//! fan-in bundler"): count ok replies as votes, forward at 2F+1, at F+1 when everyone answered
//! or the grace window ends, fail as soon as F+1 is out of reach. Pure and clock-free.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::gateway::eip191::Address;
use crate::jsonrpc::{ErrorObject, Outcome, Response};

/// Codes a node sends for a problem of the user's request; surfaced to the user as such.
const USER_ERROR_CODES: [i64; 3] = [-32600, -32601, -32602];

/// One node's reply as the bundler classifies it.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A result (a vote until responses are signed).
    Ok(Box<RawValue>),
    /// An error response.
    Error(ErrorObject),
    /// The request could not be handed to the node.
    SendFailed,
}

/// What to do after a reply or a timer.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Keep waiting.
    Wait,
    /// Keep waiting, and start the grace window if it is not running.
    ArmGrace,
    /// Answer with the bundle of ok results.
    Forward,
    /// F+1 ok replies are out of reach: answer with this error.
    Unreachable(ErrorObject),
}

/// The replies to one user request.
#[derive(Debug)]
pub struct Collector {
    members: Vec<Address>,
    f: usize,
    replies: BTreeMap<Address, Reply>,
}

impl Collector {
    /// A collector for a DON with these members and F.
    pub fn new(members: Vec<Address>, f: usize) -> Self {
        Self {
            members,
            f,
            replies: BTreeMap::new(),
        }
    }

    /// Records a reply; false (and ignored) for a non-member or a second reply.
    pub fn record(&mut self, node: Address, reply: Reply) -> bool {
        if !self.members.contains(&node) || self.replies.contains_key(&node) {
            return false;
        }
        self.replies.insert(node, reply);
        true
    }

    /// Records a node's response frame.
    pub fn record_response(&mut self, node: Address, response: Response) -> bool {
        let reply = match response.outcome {
            Outcome::Result(result) => Reply::Ok(result),
            Outcome::Error(error) => Reply::Error(error),
        };
        self.record(node, reply)
    }

    /// Ok replies so far.
    pub fn ok_count(&self) -> usize {
        self.replies
            .values()
            .filter(|reply| matches!(reply, Reply::Ok(_)))
            .count()
    }

    /// Members that have not replied (nor failed to receive the request).
    pub fn remaining(&self) -> usize {
        self.members.len().saturating_sub(self.replies.len())
    }

    /// The decision now; `expired` treats every silent member as answered (request timeout).
    pub fn decide(&self, expired: bool) -> Decision {
        let ok = self.ok_count();
        let remaining = if expired { 0 } else { self.remaining() };
        let min_quorum = self.f.saturating_add(1);
        let early = self.f.saturating_mul(2).saturating_add(1);
        if ok >= early || (remaining == 0 && ok >= min_quorum) {
            return Decision::Forward;
        }
        if ok.saturating_add(remaining) < min_quorum {
            return Decision::Unreachable(self.unreachable_error(expired));
        }
        if ok >= min_quorum {
            Decision::ArmGrace
        } else {
            Decision::Wait
        }
    }

    fn unreachable_error(&self, expired: bool) -> ErrorObject {
        let ok = self.ok_count();
        let need = self.f.saturating_add(1);
        if expired {
            return ErrorObject {
                code: -32000,
                message: format!(
                    "request expired: got {ok} ok responses, need at least F+1 = {need}"
                ),
            };
        }
        let user_error = self
            .members
            .iter()
            .find_map(|node| match self.replies.get(node) {
                Some(Reply::Error(error)) if USER_ERROR_CODES.contains(&error.code) => {
                    Some(error.clone())
                }
                _ => None,
            });
        user_error.unwrap_or_else(|| ErrorObject {
            code: -32603,
            message: format!(
                "relay quorum unreachable: {ok} ok responses and {} pending, need F+1 = {need}",
                self.remaining()
            ),
        })
    }

    /// The ok results in member order: the `responses` of the forwarded bundle.
    pub fn bundle(&self) -> Vec<&RawValue> {
        self.members
            .iter()
            .filter_map(|node| match self.replies.get(node) {
                Some(Reply::Ok(result)) => Some(result.as_ref()),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: u8) -> Vec<Address> {
        (1..=n).map(|i| Address([i; 20])).collect()
    }

    fn ok(text: &str) -> Reply {
        Reply::Ok(RawValue::from_string(text.to_owned()).unwrap())
    }

    fn error(code: i64, message: &str) -> Reply {
        Reply::Error(ErrorObject {
            code,
            message: message.to_owned(),
        })
    }

    #[test]
    fn forwards_at_2f_plus_1_not_before() {
        let members = nodes(4);
        let mut collector = Collector::new(members.clone(), 1);
        assert!(collector.record(members[0], ok("1")));
        assert_eq!(collector.decide(false), Decision::Wait);
        assert!(
            !collector.record(members[0], ok("9")),
            "duplicates are ignored"
        );
        assert!(
            !collector.record(Address([9; 20]), ok("9")),
            "strangers are ignored"
        );
        collector.record(members[1], ok("2"));
        assert_eq!(collector.decide(false), Decision::ArmGrace);
        collector.record(members[3], ok("4"));
        assert_eq!(collector.decide(false), Decision::Forward);
        let bundle: Vec<&str> = collector.bundle().iter().map(|raw| raw.get()).collect();
        assert_eq!(bundle, ["1", "2", "4"]);
    }

    #[test]
    fn error_majority_keeps_open_then_forwards_when_all_answered() {
        // N=7, F=2: 3 errors + 2 ok stays open; 2 more ok is terminal with 4.
        let members = nodes(7);
        let mut collector = Collector::new(members.clone(), 2);
        for node in &members[..3] {
            collector.record(*node, error(-32603, "internal error"));
        }
        collector.record(members[3], ok("1"));
        collector.record(members[4], ok("1"));
        assert_eq!(collector.decide(false), Decision::Wait);
        collector.record(members[5], ok("1"));
        assert_eq!(collector.decide(false), Decision::ArmGrace);
        collector.record(members[6], ok("1"));
        assert_eq!(collector.decide(false), Decision::Forward);
        assert_eq!(collector.bundle().len(), 4);
    }

    #[test]
    fn unreachable_fails_at_once_and_prefers_user_errors() {
        let members = nodes(4);
        let mut collector = Collector::new(members.clone(), 1);
        collector.record(members[0], Reply::SendFailed);
        collector.record(members[1], Reply::SendFailed);
        collector.record(members[2], error(-32603, "internal error"));
        let Decision::Unreachable(err) = collector.decide(false) else {
            panic!("expected failure")
        };
        assert_eq!(err.code, -32603);
        assert_eq!(
            err.message,
            "relay quorum unreachable: 0 ok responses and 1 pending, need F+1 = 2"
        );

        let mut collector = Collector::new(members.clone(), 1);
        collector.record(members[0], Reply::SendFailed);
        collector.record(members[1], Reply::SendFailed);
        collector.record(members[3], error(-32602, "key does not exist"));
        assert_eq!(
            collector.decide(false),
            Decision::Unreachable(ErrorObject {
                code: -32602,
                message: "key does not exist".into()
            })
        );
    }

    #[test]
    fn expiry_forwards_partial_or_times_out() {
        let members = nodes(4);
        let mut collector = Collector::new(members.clone(), 1);
        collector.record(members[0], ok("1"));
        let Decision::Unreachable(err) = collector.decide(true) else {
            panic!("expected timeout")
        };
        assert_eq!(err.code, -32000);
        assert_eq!(
            err.message,
            "request expired: got 1 ok responses, need at least F+1 = 2"
        );
        collector.record(members[1], ok("2"));
        assert_eq!(collector.decide(true), Decision::Forward);
    }
}
