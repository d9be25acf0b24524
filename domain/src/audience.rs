//! Who a token is for: the three front doors, each with its own accounts
//! and its own login. A token of one audience is never accepted where
//! another is expected.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Customers, in the customer area (and the web shop).
    CustomerArea,
    /// The holder of an FE, in its panel.
    Panel,
    /// Operators, in the back office.
    Backoffice,
}

impl Audience {
    pub const ALL: [Audience; 3] = [
        Audience::CustomerArea,
        Audience::Panel,
        Audience::Backoffice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Audience::CustomerArea => "customer_area",
            Audience::Panel => "panel",
            Audience::Backoffice => "backoffice",
        }
    }

    pub fn parse(text: &str) -> Option<Audience> {
        Audience::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences_read_back_as_written() {
        for audience in Audience::ALL {
            assert_eq!(Audience::parse(audience.as_str()), Some(audience));
        }
        assert_eq!(Audience::parse("Panel"), None);
        assert_eq!(Audience::parse("operator"), None);
    }
}
