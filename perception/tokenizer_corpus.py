"""The fixed training text of vlagent's small demo tokenizer: everyday English plus UI words.

It only decides which byte pairs get merged; any text still encodes, byte by byte where no
merge applies. Changing it changes the demo tokenizer (and every model trained with it).
"""

CORPUS = """\
You are a helpful assistant. You are a GUI agent that operates a phone and a desktop for the user.
Look at the screenshot and decide the next action. Think about what is on the screen first.
Tap the Settings icon. Open the Settings app. Scroll down to find Wi-Fi and turn it on.
Tap the search bar and type the name of the song. Press Enter to search. Go back to the home screen.
Swipe up to see all apps. Swipe left to the next page. Swipe right to go back. Long press the icon.
Click the Submit button. Click the OK button. Click Cancel. Double click the file to open it.
Type your email address and password, then tap Sign in. Tap Log in. Tap Create account.
The button is at the top of the screen. The menu is on the left side. The icon is in the bottom right corner.
Find the red button in the top left corner and click it. Select the second item in the list.
Open the Camera app and take a photo. Open Gallery and share the latest picture with Alice.
Send a message to Bob: I will be there in ten minutes. Reply to the last message. Call Mom.
Set an alarm for 7:30 tomorrow morning. Turn off Bluetooth. Turn on Airplane mode. Lower the volume.
Increase the brightness. Enable dark mode. Check the battery level. Restart the phone.
Add an event to the calendar on Monday at 3 pm. Delete the draft. Save the document. Print the page.
Open the browser and go to the news website. Download the file. Upload the photo. Copy the link.
Paste the text into the note. Edit the title. Rename the folder. Move the file to the trash.
Play the next video. Pause the music. Skip the ad. Mute the sound. Open the map and search for a cafe nearby.
Navigate to the nearest gas station. Book a table for two at 8 pm. Order a pizza with extra cheese.
What is the weather today? It is sunny and warm, with a high of 24 degrees.
How many unread emails are there? There are 3 unread emails in the inbox.
The task is complete. The answer is 42. I could not find the item, so I will scroll down and look again.
Action: tap. Action: swipe. Action: type. Action: long_press. Action: open_app. Action: back. Action: home.
Action: enter. Action: wait. Action: answer. Action: finish. Action: scroll up. Action: scroll down.
{"action": "tap", "x": 540, "y": 1200}
{"action": "swipe", "x1": 540, "y1": 1800, "x2": 540, "y2": 600, "duration_ms": 300}
{"action": "type", "text": "hello world"}
{"action": "open_app", "name": "Settings"}
{"action": "answer", "text": "The battery is at 85 percent."}
The target is the Settings button (120,456),(380,512). The search box is at (56,98),(944,160).
Click at (500,250). Tap at (731,884). The box goes from (12,34) to (567,890).
Home Back Menu Search Settings Profile Account Notifications Messages Contacts Phone Camera Photos
Gallery Music Videos Maps Calendar Clock Alarm Timer Weather News Mail Email Inbox Sent Drafts Trash
Files Downloads Documents Folder Browser Chrome Store Apps Games Health Wallet Notes Reminders
Calculator Keyboard Wi-Fi Bluetooth Location Battery Display Sound Volume Brightness Storage Privacy
Security Password Username Login Logout Sign in Sign up Register Continue Next Previous Done Skip
Submit Cancel Confirm Accept Decline Allow Deny OK Yes No Close Open Save Edit Delete Remove Add New
Create Share Send Reply Forward Copy Paste Cut Undo Redo Select All Clear Refresh Retry Update Install
Uninstall Download Upload Play Pause Stop Record Like Follow Subscribe Comment Post Upload Filter Sort
More Options Help About Privacy Policy Terms of Service Language English Dark mode Light mode
button icon text field input box checkbox switch toggle slider tab list item menu dialog popup window
screen page view panel toolbar status bar navigation bar title header footer link image label
The quick brown fox jumps over the lazy dog. A robot moves forward, turns left, and stops near the door.
Move forward two meters. Turn right by ninety degrees. Stop. Pick up the red cup and place it on the table.
Go to the kitchen. Follow the person. Avoid the obstacle. The door is open. The box is on the shelf.
The user wants to buy a ticket for the train to Berlin on Friday morning.
Please describe the image. The image shows a phone screen with a list of settings and a blue switch.
There is a dialog asking for permission to access the camera. Tap Allow to continue.
The screenshot shows the home screen with several app icons: Phone, Messages, Chrome, and Camera.
Numbers: 0 1 2 3 4 5 6 7 8 9 10 11 12 20 25 30 50 64 100 128 256 512 999 1000 1024 2048 2024 2025.
Punctuation and symbols: . , ; : ! ? ' " ( ) [ ] { } < > / \\ | - _ + = * & % $ # @ ~ ` ^
In the morning we read, in the afternoon we work, and in the evening we rest at home with our family.
This is a simple sentence. That was an easy task. These are the results. Those are the settings.
I think the next step is to open the menu. We should check the list again. They have already finished.
She said that the app was not responding. He asked whether the download had started.
"""
