//! Rows in PostgreSQL's COPY text format: the fastest way to hand a bulk of rows to the
//! server (no array parameters to build and unpack). Fields are tab-separated, rows end in a
//! newline, NULL is `\N`, and backslash, tab, newline and carriage return are escaped.

#[derive(Default)]
pub struct CopyText {
    buffer: Vec<u8>,
    fields_in_row: usize,
}

impl CopyText {
    pub fn with_capacity(bytes: usize) -> Self {
        Self { buffer: Vec::with_capacity(bytes), fields_in_row: 0 }
    }

    fn separate(&mut self) {
        if self.fields_in_row > 0 {
            self.buffer.push(b'\t');
        }
        self.fields_in_row += 1;
    }

    pub fn text(&mut self, value: &str) -> &mut Self {
        self.separate();
        for &byte in value.as_bytes() {
            match byte {
                b'\\' => self.buffer.extend_from_slice(b"\\\\"),
                b'\t' => self.buffer.extend_from_slice(b"\\t"),
                b'\n' => self.buffer.extend_from_slice(b"\\n"),
                b'\r' => self.buffer.extend_from_slice(b"\\r"),
                _ => self.buffer.push(byte),
            }
        }
        self
    }

    pub fn optional_text(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(value) => self.text(value),
            None => {
                self.separate();
                self.buffer.extend_from_slice(b"\\N");
                self
            }
        }
    }

    pub fn int(&mut self, value: impl Into<i64>) -> &mut Self {
        self.separate();
        self.buffer.extend_from_slice(value.into().to_string().as_bytes());
        self
    }

    pub fn boolean(&mut self, value: bool) -> &mut Self {
        self.separate();
        self.buffer.push(if value { b't' } else { b'f' });
        self
    }

    pub fn end_row(&mut self) {
        self.buffer.push(b'\n');
        self.fields_in_row = 0;
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buffer
    }
}

#[cfg(test)]
mod tests {
    use super::CopyText;

    #[test]
    fn escapes_and_nulls() {
        let mut rows = CopyText::default();
        rows.text("a\tb\\c\nd\re").optional_text(None).int(42).boolean(true).end_row();
        rows.text("").boolean(false).end_row();
        assert_eq!(rows.into_bytes(), b"a\\tb\\\\c\\nd\\re\t\\N\t42\tt\n\tf\n");
    }
}
