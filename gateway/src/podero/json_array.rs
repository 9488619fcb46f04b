//! Cutting a JSON array that arrives in chunks into its elements, so that
//! each can be parsed from a byte slice.
//!
//! Podero's users list is one bare array of objects, hundreds of megabytes
//! for a large organisation. `serde_json` parses a slice about twice as fast
//! as a reader, but the list must not be held whole. [`Elements`] finds
//! where each top-level object ends (counting braces outside strings, with
//! `memchr`), while the chunks arrive, and collects whole elements into
//! batches separated by a space, which `serde_json`'s stream deserializer
//! reads from a slice. Only the array's frame is checked here (`[`, objects
//! separated by commas, `]`, nothing after it); everything inside an element
//! is `serde_json`'s to check.

/// What is wrong with the array's frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Something other than `[` (after white space) at the start.
    NotAnArray,
    /// An element that is not an object, or no comma between two.
    Expected { what: &'static str, at: u64 },
    /// Something other than white space after the closing `]`.
    AfterEnd { at: u64 },
    /// The body ended inside the array.
    Unfinished,
    /// One element longer than [`MAX_ELEMENT`] bytes.
    TooLarge { at: u64 },
}

/// The longest element accepted (a Podero user is about 500 bytes), so a
/// broken or hostile answer cannot grow the batch without end.
pub const MAX_ELEMENT: usize = 1 << 20;

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::NotAnArray => f.write_str("expected a JSON array"),
            FrameError::Expected { what, at } => write!(f, "expected {what} at byte {at}"),
            FrameError::AfterEnd { at } => {
                write!(f, "unexpected data after the array at byte {at}")
            }
            FrameError::Unfinished => f.write_str("the array ended early"),
            FrameError::TooLarge { at } => write!(
                f,
                "an element longer than {MAX_ELEMENT} bytes, at byte {at}"
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the `[`.
    Start,
    /// After `[`: an element or `]`.
    First,
    /// After an element: `,` or `]`.
    Next,
    /// After `,`: an element.
    Element,
    /// Inside an element, `depth` braces open.
    Inside {
        depth: u32,
        string: bool,
        escape: bool,
    },
    /// After the `]`.
    End,
}

/// The splitter: feed it chunks, take batches of whole elements.
#[derive(Debug)]
pub struct Elements {
    state: State,
    /// Bytes seen so far (for error positions).
    offset: u64,
    /// Whole elements, each followed by a space, and the start of an
    /// unfinished one.
    batch: Vec<u8>,
    /// Where the unfinished element starts in `batch`.
    open: usize,
}

impl Default for Elements {
    fn default() -> Self {
        Elements {
            state: State::Start,
            offset: 0,
            batch: Vec::new(),
            open: 0,
        }
    }
}

impl Elements {
    /// Read one more chunk of the body.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), FrameError> {
        let mut i = 0;
        while i < chunk.len() {
            let at = self.offset + i as u64;
            match self.state {
                State::Inside {
                    mut depth,
                    mut string,
                    mut escape,
                } => {
                    // Copy up to the element's end (or the chunk's).
                    let from = i;
                    let mut done = false;
                    while i < chunk.len() {
                        if escape {
                            escape = false;
                            i += 1;
                        } else if string {
                            match memchr::memchr2(b'"', b'\\', &chunk[i..]) {
                                None => i = chunk.len(),
                                Some(k) => {
                                    i += k;
                                    if chunk[i] == b'"' {
                                        string = false;
                                    } else {
                                        escape = true;
                                    }
                                    i += 1;
                                }
                            }
                        } else {
                            match memchr::memchr3(b'{', b'}', b'"', &chunk[i..]) {
                                None => i = chunk.len(),
                                Some(k) => {
                                    i += k;
                                    match chunk[i] {
                                        b'{' => depth += 1,
                                        b'}' => depth -= 1,
                                        _ => string = true,
                                    }
                                    i += 1;
                                    if depth == 0 {
                                        done = true;
                                        break;
                                    }
                                }
                            }
                        }
                    }
                    self.batch.extend_from_slice(&chunk[from..i]);
                    if self.batch.len() - self.open > MAX_ELEMENT {
                        return Err(FrameError::TooLarge {
                            at: self.offset + i as u64,
                        });
                    }
                    if done {
                        self.batch.push(b' ');
                        self.open = self.batch.len();
                        self.state = State::Next;
                    } else {
                        self.state = State::Inside {
                            depth,
                            string,
                            escape,
                        };
                    }
                    continue;
                }
                _ if matches!(chunk[i], b' ' | b'\t' | b'\n' | b'\r') => {}
                State::Start if chunk[i] == b'[' => self.state = State::First,
                State::Start => return Err(FrameError::NotAnArray),
                State::First | State::Next if chunk[i] == b']' => self.state = State::End,
                State::Next if chunk[i] == b',' => self.state = State::Element,
                State::Next => {
                    return Err(FrameError::Expected {
                        what: "',' or ']'",
                        at,
                    })
                }
                State::First | State::Element if chunk[i] == b'{' => {
                    self.batch.push(b'{');
                    self.state = State::Inside {
                        depth: 1,
                        string: false,
                        escape: false,
                    };
                }
                State::First | State::Element => {
                    return Err(FrameError::Expected {
                        what: "an object",
                        at,
                    })
                }
                State::End => return Err(FrameError::AfterEnd { at }),
            }
            i += 1;
        }
        self.offset += chunk.len() as u64;
        Ok(())
    }

    /// Bytes of whole elements waiting in the batch.
    pub fn ready(&self) -> usize {
        self.open
    }

    /// The whole elements read so far, each followed by a space (the
    /// unfinished one stays).
    pub fn take(&mut self) -> Vec<u8> {
        let rest = self.batch.split_off(self.open);
        self.open = 0;
        std::mem::replace(&mut self.batch, rest)
    }

    /// The body ended: the last whole elements, or why the array is not
    /// complete.
    pub fn finish(mut self) -> Result<Vec<u8>, FrameError> {
        match self.state {
            State::End => Ok(self.take()),
            _ => Err(FrameError::Unfinished),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Split `json` fed in chunks of `size`, parse every batch's elements.
    fn split(json: &str, size: usize) -> Result<Vec<Value>, FrameError> {
        let mut e = Elements::default();
        let mut out = Vec::new();
        let mut parse = |batch: Vec<u8>| {
            for v in serde_json::Deserializer::from_slice(&batch).into_iter::<Value>() {
                out.push(v.expect("a whole element"));
            }
        };
        for chunk in json.as_bytes().chunks(size.max(1)) {
            e.feed(chunk)?;
            if e.ready() > 10 {
                parse(e.take());
            }
        }
        parse(e.finish()?);
        Ok(out)
    }

    /// Elements come out exactly as `serde_json` reads the whole array,
    /// whatever the chunk borders, strings holding braces, quotes and
    /// backslashes included.
    #[test]
    fn elements_are_what_the_whole_array_holds() {
        let json = r#" [ {"a":"}{\"\\","b":{"c":[1,{"d":"\\"}]}} ,{},
            {"e":"\u00e4 ü {","f":null}, {"g":"\\\\\"}"} ] "#;
        let whole: Vec<Value> = serde_json::from_str(json).unwrap();
        assert_eq!(whole.len(), 4);
        for size in 1..=json.len() {
            assert_eq!(split(json, size).unwrap(), whole, "chunks of {size}");
        }
        assert_eq!(split("[]", 1).unwrap(), Vec::<Value>::new());
        assert_eq!(split(" [\n] \n", 2).unwrap(), Vec::<Value>::new());
    }

    #[test]
    fn a_broken_frame_is_an_error_not_a_panic() {
        let cases: [(&str, FrameError); 9] = [
            ("", FrameError::Unfinished),
            ("{}", FrameError::NotAnArray),
            ("[", FrameError::Unfinished),
            ("[{}", FrameError::Unfinished),
            ("[{\"a\":\"}\"", FrameError::Unfinished),
            (
                "[1]",
                FrameError::Expected {
                    what: "an object",
                    at: 1,
                },
            ),
            (
                "[{},]",
                FrameError::Expected {
                    what: "an object",
                    at: 4,
                },
            ),
            (
                "[{} {}]",
                FrameError::Expected {
                    what: "',' or ']'",
                    at: 4,
                },
            ),
            ("[{}] x", FrameError::AfterEnd { at: 5 }),
        ];
        for (json, want) in cases {
            for size in 1..=json.len().max(1) {
                assert_eq!(
                    split(json, size).unwrap_err(),
                    want,
                    "{json:?} in chunks of {size}"
                );
            }
        }
        // A closing brace too many ends the element early: the frame is
        // wrong after it.
        let mut e = Elements::default();
        e.feed(b"[{\"a\":1}}]").unwrap_err();
        // An element without end is refused once it passes the limit.
        let mut e = Elements::default();
        e.feed(b"[{\"a\":\"").unwrap();
        let err = std::iter::repeat_n(&[b'x'; 4096][..], MAX_ELEMENT / 4096 + 1)
            .try_for_each(|c| e.feed(c))
            .unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { .. }), "{err:?}");
        assert!(e.batch.len() <= MAX_ELEMENT + 4096 + 8);
    }
}
