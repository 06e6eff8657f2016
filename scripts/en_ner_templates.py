"""Templates for the English PERSON/ADDRESS tagger's synthetic data (``scripts/en_ner_data.py``).

Slots: {P} person, {F} given name, {L} surname, {A} address, {S} street line (labelled); {T} title,
{C} city, {CO} company, {CT} country, {ST} state, {D} date, {DAY} weekday, {MONTH}, {PH} phone, {E} e-mail,
{J} job, {N} number, {M} amount, {H} heading, {PR} product, {X} sentence (not labelled).
"""

# Context words: the literal text of these templates is the only source of "w=" context features.
TEMPLATES_PERSON = r"""\
Hi {P}, thanks for your message.
Dear {P},
Dear {T} {L},
Hello {F}, how are you?
hey {F} can you check this
My name is {P} and I need help with my account.
my name is {P}
Name: {P}
Full name: {P}
Customer name: {P}
Contact: {P}
From: {P} <{E}>
To: {P}
Cc: {P}, {P}
Regards,\n{P}
Best regards,\n{P}\n{J}
Thanks,\n{F}
Cheers, {F}
Sincerely,\n{P}
Sent by {P} on {D}.
{P} wrote:
On {D}, {P} wrote:
I spoke with {P} yesterday about the invoice.
Please forward this to {P}.
{P} will join the call at 3pm.
{P} has been assigned to ticket #{N}.
Assigned to: {P}
Reporter: {P}
Patient: {P}, DOB {D}
Applicant: {P}
Employee {P} ({J}) starts on {D}.
The account holder is {P}.
Ask {T} {P} about it.
Meeting with {T} {L} on {D}.
Can you tell me your last name? {L}
What is your first name? {F}
What's your name?\n{P}
first name: {F}\nlast name: {L}
First Name: {F}\nLast Name: {L}
Surname: {L}
Given name: {F}
Q: Who approved the request?\nA: {P}
Who is the contact person? {P}.
The owner is {P}, {J} at {CO}.
{P}, {J}
{P} - {J}
I am {P}, the new {J}.
I'm {F}, nice to meet you.
This is {P} from {CO}.
Thank you {F}!
thanks {F}
{F} said the build is green.
{F} and {F} are on leave.
{P} and {P} signed the contract.
Please call {P} at {PH}.
Reach {P} at {E} or {PH}.
{P}\n{A}
{P}'s order was shipped.
The parcel is for {P}.
Attn: {P}
ATTN {P}
c/o {P}
Signed: {P}
Witness: {P}
Guardian: {P}
Emergency contact: {P} ({PH})
Driver: {P}
Passenger {P} boarded the flight.
Author: {P}
Reviewed by {P}.
Approved by {T} {P}
Hi team, {F} is out today.
@{F} please review
{P} joined the channel.
I'd like to speak to {P}, please.
My manager, {P}, said it was fine.
Our {J}, {P}, will contact you.
User {P} reset the password.
The letter was addressed to {P}.
- {P}
* {P} ({E})
1. {P}\n2. {P}\n3. {P}
{P}, {P} and {P} attended.
Name of the insured: {P}
Cardholder: {P}
Beneficiary: {P}
Please update the record for {P} (ID {N}).
{L}, {F}
Mr. and Mrs. {L}
{P} called about {CO}.
I met {P} in {C}.
{P} moved to {C} last year.
{P} lives in {CT}.
Good morning {T} {L}, your appointment is confirmed for {D}.
As discussed with {P}, the deadline moves to {D}.
{F}, could you review the draft?
Thanks again {F}, see you on {DAY}.
The certificate was issued to {P}.
I am writing to you about my colleague {P}.
Is {F} available for a quick call?
{P} replied: sounds good.
We hired {P} as our new {J}.
Send my regards to {F} and {F}.
Owner: {P} | Phone: {PH} | Email: {E}
| {P} | {J} | {C} |
{P} <{E}> wrote on {D}:
Congratulations {F}!
Happy birthday, {F}!
According to {P}, the issue is fixed.
Spoke to {L} from accounts.
Booking reference {N} for {P}.
Travellers: {P}, {P}
Payee: {P}
"""
TEMPLATES_ADDRESS = r"""\
My address is {A}.
Address: {A}
Shipping address: {A}
Billing address:\n{A}
Ship to:\n{P}\n{A}
Please send the documents to {A}.
I live at {S}.
i live at {S}
We moved to {A} last month.
The office is at {A}.
Deliver to {S} before noon.
Return address: {A}
Home: {A}
Mailing address - {A}
Where do you live? {A}
What's your address?\n{A}
{P}\n{A}
{P}\n{A}\n{PH}
{CO}\n{A}
Our new address is {A}, effective {D}.
The meeting is at {S}.
Send the invoice to {CO}, {A}.
Residence: {A}
Location: {S}
Pick up from {S} at 5pm.
The house at {S} is for sale.
Registered office: {A}
Update my address to {A} please.
address {A}
Can you confirm the address? It's {A}.
Venue: {A}
Our shop has moved to {S}.
Correspondence address:\n{P}\n{A}
Address line 1: {S}
The property at {A} was sold in {MONTH}.
Find us at {A}.
Please collect the keys from {S}.
{A}
Delivery address: {A}. Leave the parcel at the door.
Office: {A} | Tel: {PH}
I grew up at {S} in {C}.
"""
TEMPLATES_NEGATIVE = r"""\
{CO} reported strong results for {D}.
The {CO} office in {C} is closed on {DAY}.
Welcome to {C}!
We are flying to {CT} on {D}.
The {J} role at {CO} is open.
Order #{N} was shipped on {D}.
Your invoice {N} for {M} is due on {D}.
Call us at {PH} or email {E}.
{H}
{H}\n{X}
{X}
{X} {X}
The {PR} is out of stock.
Please restart the {PR} and try again.
Meeting notes - {D}
Agenda for {DAY}:\n1. {H}\n2. {H}
The weather in {C} was great.
{C}, {ST} is a nice place to live.
Our headquarters moved from {C} to {C}.
Reference: {N}
Total: {M}
Version {N} of {PR} was released on {D}.
Thank you for contacting {CO} support.
Subject: {H}
Re: {H}
Please find the report attached.
Visit {CT} this summer.
The team at {CO} and {CO} agreed.
See section {N} of the {H} policy.
{DAY}, {D}
Happy New Year from everyone at {CO}!
The {H} project starts in {MONTH}.
Room {N}, Building {N}
Flight {N} to {C} departs at 10:45.
Temperature: {N} degrees.
Thank you for choosing {CO}.
{CO} Inc. was founded in {C} in {N}.
The {H} Conference will be held in {C}, {CT}.
Dear Customer,
Dear Sir or Madam,
Best Regards,\nThe {CO} Team
Welcome aboard! Your {PR} ships {DAY}.
Lake {C} and Mount {C} are worth a visit.
Section {N}: {H}
New Year's Day falls on a {DAY} this year.
Sent from my {PR}
The {ST} Department of Revenue sent a letter.
{DAY} Morning Briefing
"""

# Held out: never used for training, written to read differently, for a less flattering dev figure.
TEMPLATES_HOLDOUT = r"""\
Hello, I'm writing on behalf of {P} regarding the lease at {A}.
The tenant, {P}, has not paid since {D}.
Could {F} send me the slides before {DAY}?
Forwarding address for {P}: {A}
Please note that {P} no longer works at {CO}.
{P} ({E}) requested a refund for order {N}.
Next of kin: {P}, {A}
Hi all - welcome {P} to the {H} team!
The package addressed to {P} at {S} was returned.
We visited {C} and stayed with {F} for a week.
{P} is the registered keeper of the vehicle.
Consignee: {P}\n{A}\nTel {PH}
I want to change my address from {S} to {S}.
Our new {J} {P} will start on {D}.
{CO} announced record sales in {MONTH}.
Dinner at {F}'s place tonight?
Pls ship to {A} asap, thx
The {PR} I bought from {CO} stopped working.
who signed the form? it was {P}
name {P} address {A} phone {PH}
"""
