//! The two relay methods: from one gateway request to one response.
