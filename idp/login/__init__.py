"""Password sign-in support: throttling of failed attempts."""
