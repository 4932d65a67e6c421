//! A tiny CBOR encoder for minting fake documents, able to write the odd encodings the
//! bad-input tests need (duplicate keys, indefinite maps, `undefined`, raw bytes).

/// A CBOR value to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cbor {
    /// Unsigned integer.
    Uint(u64),
    /// Negative integer `-1 - n`.
    Nint(u64),
    /// Byte string.
    Bytes(Vec<u8>),
    /// Text string.
    Text(String),
    /// Definite-length array.
    Array(Vec<Cbor>),
    /// Indefinite-length array.
    IndefArray(Vec<Cbor>),
    /// Definite-length map (entries kept in order, duplicates allowed).
    Map(Vec<(Cbor, Cbor)>),
    /// Indefinite-length map.
    IndefMap(Vec<(Cbor, Cbor)>),
    /// Tagged value.
    Tag(u64, Box<Cbor>),
    /// `null`.
    Null,
    /// `undefined` (0xf7).
    Undefined,
    /// Bytes written as they are.
    Raw(Vec<u8>),
}

/// Writes a head of major type `major` with argument `arg`, in the shortest form.
pub fn head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    match arg {
        0..=23 => out.push(m | arg as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, arg as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(arg as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(arg as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&arg.to_be_bytes());
        }
    }
}

impl Cbor {
    /// Text value.
    pub fn text(s: &str) -> Self {
        Self::Text(s.to_owned())
    }

    /// Encodes the value.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    /// Appends the encoding to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::Uint(v) => head(out, 0, *v),
            Self::Nint(v) => head(out, 1, *v),
            Self::Bytes(b) => {
                head(out, 2, b.len() as u64);
                out.extend_from_slice(b);
            }
            Self::Text(t) => {
                head(out, 3, t.len() as u64);
                out.extend_from_slice(t.as_bytes());
            }
            Self::Array(items) => {
                head(out, 4, items.len() as u64);
                items.iter().for_each(|i| i.write(out));
            }
            Self::IndefArray(items) => {
                out.push(0x9f);
                items.iter().for_each(|i| i.write(out));
                out.push(0xff);
            }
            Self::Map(entries) | Self::IndefMap(entries) => {
                let indefinite = matches!(self, Self::IndefMap(_));
                if indefinite {
                    out.push(0xbf);
                } else {
                    head(out, 5, entries.len() as u64);
                }
                for (k, v) in entries {
                    k.write(out);
                    v.write(out);
                }
                if indefinite {
                    out.push(0xff);
                }
            }
            Self::Tag(tag, value) => {
                head(out, 6, *tag);
                value.write(out);
            }
            Self::Null => out.push(0xf6),
            Self::Undefined => out.push(0xf7),
            Self::Raw(bytes) => out.extend_from_slice(bytes),
        }
    }
}
