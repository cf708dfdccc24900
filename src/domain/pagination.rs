//! `page` / `page_size` as the contract defines them (page ≥ 1, page_size 1..=max); read
//! from a query string by `extract::QueryParams::page`.

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

    /// Page `page` of `page_size` entries, each brought into its range (1..=`MAX_PAGE`,
    /// 1..=`MAX_PAGE_SIZE`).
    pub fn new(page: i64, page_size: i64) -> Self {
        PageRequest {
            page: page.clamp(1, Self::MAX_PAGE) as u32,
            page_size: page_size.clamp(1, Self::MAX_PAGE_SIZE.into()) as u32,
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
    fn pages_are_brought_into_range() {
        let p = PageRequest::new(0, 1_000);
        assert_eq!((p.page(), p.page_size()), (1, PageRequest::MAX_PAGE_SIZE));
        let p = PageRequest::new(3, 25);
        assert_eq!((p.limit(), p.offset()), (25, 50));
    }
}
