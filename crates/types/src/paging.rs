//! CloudStack paging: `page` (1-based) and `pagesize` (max 500, -1 = unlimited).

use crate::Error;

pub const MAX_PAGE_SIZE: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: i64,
    /// Rows to return; `None` = unlimited.
    pub limit: Option<i64>,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            offset: 0,
            limit: Some(MAX_PAGE_SIZE),
        }
    }
}

impl Page {
    pub const ALL: Page = Page { offset: 0, limit: None };

    /// Validate `page`/`pagesize` the way `BaseListCmd` does.
    pub fn from_params(page: Option<i64>, pagesize: Option<i64>) -> Result<Page, Error> {
        match (page, pagesize) {
            (None, None) => Ok(Page::default()),
            (Some(_), Some(-1)) => Err(Error::invalid(
                "Can't specify page parameter when pagesize is -1 (Unlimited)",
            )),
            (None, Some(-1)) => Ok(Page::ALL),
            (Some(_), None) => Err(Error::invalid(
                "\"pagesize\" parameter is required when \"page\" is specified",
            )),
            (None, Some(_)) => Err(Error::invalid(
                "\"page\" parameter is required when \"pagesize\" is specified",
            )),
            (Some(page), Some(size)) => {
                if size < 1 {
                    return Err(Error::invalid(format!(
                        "Page size can't be less than 1 (or -1 for unlimited); got {size}"
                    )));
                }
                if size > MAX_PAGE_SIZE {
                    return Err(Error::invalid(format!(
                        "Page size can't exceed max allowed page size value: {MAX_PAGE_SIZE}"
                    )));
                }
                if page < 1 {
                    return Err(Error::invalid(format!("Page can't be less than 1; got {page}")));
                }
                Ok(Page {
                    offset: (page - 1).saturating_mul(size),
                    limit: Some(size),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_rules() {
        assert_eq!(Page::from_params(None, None).unwrap(), Page::default());
        assert_eq!(Page::from_params(None, Some(-1)).unwrap(), Page::ALL);
        assert_eq!(
            Page::from_params(Some(3), Some(10)).unwrap(),
            Page {
                offset: 20,
                limit: Some(10)
            }
        );
        for (p, s) in [
            (Some(1), None),
            (None, Some(5)),
            (Some(1), Some(501)),
            (Some(0), Some(5)),
            (Some(1), Some(-1)),
            (Some(1), Some(0)),
        ] {
            let e = Page::from_params(p, s).unwrap_err();
            assert_eq!(e.http_status(), 431, "{p:?} {s:?}");
        }
    }
}
