"""Drivers: the screens a recipe works on (web through Playwright, desktop through pyautogui), and the display."""
