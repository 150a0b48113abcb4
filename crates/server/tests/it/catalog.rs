//! Storage pools, image stores, templates, OS types, offerings (being written).
