//! `page` / `page_size` as the contract defines them (page ≥ 1, page_size 1..=max).

use crate::extract::QueryParams;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    page_size: u32,
}

impl PageRequest {
    /// No client needs more; it keeps `offset` far from overflow.
    pub const MAX_PAGE: i64 = 100_000;
    pub const DEFAULT_PAGE_SIZE: u32 = 20;
    pub const MAX_PAGE_SIZE: u32 = 100;

    /// Reads `page` and `page_size`, recording any issue in `query`.
    pub fn from_query(query: &mut QueryParams) -> Self {
        let page = query.int("page", 1, 1, Self::MAX_PAGE);
        let page_size = query.int(
            "page_size",
            Self::DEFAULT_PAGE_SIZE.into(),
            1,
            Self::MAX_PAGE_SIZE.into(),
        );
        PageRequest {
            page: page as u32,
            page_size: page_size as u32,
        }
    }

    pub fn page(&self) -> u32 {
        self.page
    }

    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    pub fn limit(&self) -> i64 {
        self.page_size.into()
    }

    pub fn offset(&self) -> i64 {
        (i64::from(self.page) - 1) * i64::from(self.page_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_follow_pages() {
        let mut q = QueryParams::parse("page=3&page_size=25");
        let p = PageRequest::from_query(&mut q);
        assert_eq!((p.limit(), p.offset()), (25, 50));
        let mut q = QueryParams::parse("");
        let p = PageRequest::from_query(&mut q);
        assert_eq!((p.page(), p.page_size(), p.offset()), (1, 20, 0));
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        for qs in [
            "page=0",
            "page_size=0",
            "page_size=101",
            "page=100001",
            "page=-1",
            "page=x",
        ] {
            let mut q = QueryParams::parse(qs);
            PageRequest::from_query(&mut q);
            assert!(q.finish(()).is_err(), "{qs}");
        }
    }
}
