"""ShopQL: the application, its command line and its settings."""
